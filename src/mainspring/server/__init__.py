"""The Mainspring server: a FastAPI app over the same store the engine records into."""
