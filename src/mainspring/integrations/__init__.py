"""Integrations with other systems, each behind an install extra (Prefect's `prefect_*`
packages map here: `prefect_sqlalchemy` -> `mainspring.integrations.sqlalchemy`, `prefect_aws`
-> `mainspring.integrations.aws`, `prefect_dask` -> `mainspring.integrations.dask`,
`prefect_ray` -> `mainspring.integrations.ray`). Importing this package loads none of them."""
