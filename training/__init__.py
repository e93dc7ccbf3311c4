"""Fine-tuning (train.py), GGUF export (export_gguf.py) and evaluation (evaluate_model.py,
evaluate_scoring.py) of Home LLM models; installed as the package `training` (pyproject.toml)."""
