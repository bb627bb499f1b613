"""`mainspring docker dockerfile | build`: an image for a project's flows
(deploy/workers/docker_image)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainspring.cli.output import console, fail

app = typer.Typer(help="Images for docker work pools.", no_args_is_help=True)


@app.command("dockerfile")
def write_dockerfile(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it.")] = Path(
        "Dockerfile"
    ),
    python: Annotated[
        str | None, typer.Option("--python", help="Python version (default: this one's).")
    ] = None,
    requirements: Annotated[
        str | None, typer.Option(help="The requirements file (default: requirements.txt if any).")
    ] = None,
    base_image: Annotated[str | None, typer.Option(help="Start from this image instead.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a Dockerfile that installs the project's requirements, Mainspring and the project."""
    from mainspring.deploy.workers.docker_image import dockerfile

    if output.exists() and not force:
        fail(f"Error: {str(output)!r} exists; give --force to replace it")
    if requirements is None and (output.parent / "requirements.txt").is_file():
        requirements = "requirements.txt"
    elif requirements is not None and not (output.parent / requirements).is_file():
        fail(f"Error: no requirements file {requirements!r} in {str(output.parent.resolve())!r}")
    text = dockerfile(python_version=python, requirements=requirements, base_image=base_image)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"Error: cannot write {str(output)!r}: {exc.strerror or exc}")
    console().print(f"Wrote {str(output)!r}. Build it with: mainspring docker build NAME:TAG")


@app.command("build")
def build(
    tag: Annotated[str, typer.Argument(help="The image's name:tag.")],
    path: Annotated[Path, typer.Option("--path", help="The project folder.")] = Path("."),
    dockerfile_name: Annotated[str, typer.Option("--dockerfile", help="Its name.")] = "Dockerfile",
) -> None:
    """Build the project's image with the local Docker engine, printing Docker's output."""
    from mainspring.deploy.workers.docker_image import build_image

    out = console()
    try:
        for line in build_image(tag, path, dockerfile_name):
            out.print(line)
    except ImportError:
        fail("Error: building images needs the Docker SDK: pip install 'mainspring[docker]'")
    except (FileNotFoundError, RuntimeError) as exc:
        fail(f"Error: {exc}")
    except Exception as exc:  # the engine is not there, or refused
        fail(f"Error: Docker: {' '.join(str(exc).split())[:300]}")
    out.print(f"Built {tag}. Deploy with: mainspring deploy FILE.py:FLOW --pool POOL --image {tag}")
