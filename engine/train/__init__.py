"""Training, apart from the model definitions (`engine/models/`): one module per model (`vae`, `conductor`,
`gan`), each a config dataclass, its batches and losses, and an export of the shipped weights, over the
one loop in `loop` that steps, validates, checkpoints, resumes and plots."""
