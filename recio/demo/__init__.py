"""The demo: data makers (images, a people table, shape photos) and the chapter-13 run.

Nothing here is downloaded: every input is generated, deterministically for a seed.
"""
