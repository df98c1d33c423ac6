"""GAN Studio: `python app.py`, then open the printed address. UI wiring only: no torch here."""

from ganstudio.ui import build_demo, launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
