"""GAN Studio: see generative models work. The engine package (never imports gradio)."""

__version__ = "0.1.0"
