"""Our GPT-2-compatible language model: config, model, tokenizer, loading, generation, attention, training."""
