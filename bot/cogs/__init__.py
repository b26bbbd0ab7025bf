"""One cog per feature; every module here is loaded as an extension at start-up (each has `setup(bot)`)."""
