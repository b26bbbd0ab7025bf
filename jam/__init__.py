"""The `jam` command: above both the bot (`bot/`) and the engine (`engine/`), the one place they meet."""
