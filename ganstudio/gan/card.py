"""A GAN's model card, through huggingface_hub's ``ModelCard`` / ``ModelCardData``.

The card's metadata (library, licence, tags, pipeline, datasets and the measured figures as
``model-index`` results) is what the Hub indexes and shows; its body shows the sample grid, how to
load the model in three lines, the figures and the training settings.
"""

from __future__ import annotations

import json

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ganstudio.gan.spec import GanSpec

LIBRARY = "ganstudio"
LICENSE = "apache-2.0"
PLACEHOLDER_REPO = "your-name/your-gan"  # until the model is pushed somewhere (the push writes the real id)
# Training sets with a Hub dataset page, so the card can link them (built-in digits and 2D toys have none).
HUB_DATASETS = {"mnist": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist", "cifar10": "uoft-cs/cifar10"}
SETTINGS_SHOWN = ("loss", "steps", "seconds", "batch_size", "z_dim", "lr_g", "lr_d", "d_steps", "ema", "spectral_norm",
                  "diffaug", "conditional", "g_out", "seed")
VAE_SETTINGS_SHOWN = ("family", "steps", "seconds", "batch_size", "z_dim", "lr_g", "vae_sigma", "seed")  # a VAE's

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ summary }}

![samples](samples.png)

## Use it

```python
from ganstudio.gan import Generator
G = Generator.from_pretrained("{{ load_id }}"){{ load_note }}
images = G.sample(16, seed=0)  # {{ sample_shape }}
```

From the command line: `python -m ganstudio sample --model {{ repo_id }} --n 64 --out samples.png`;
in GAN Studio, type `{{ repo_id }}` into the Explore tab's model box.

## Metrics

{{ metrics_table }}

## Training settings

{{ settings_table }}

```json
{{ spec_json }}
```
"""


def model_card(config: dict, repo_id: str | None = None, tags: list[str] | None = None) -> ModelCard:
    """The card of a saved GAN from its config.json (``ganstudio.gan.io.save_gan`` writes both); ``tags`` adds
    to the GAN's own (the Hub mixin's integration tags)."""
    arch, data = str(config.get("arch", "gan")), str(config.get("data") or "")
    images = config.get("data_kind", "image") == "image"
    bundled = str(config.get("bundled_recipe") or "").split(" ")[-1]  # a model shipped in weights/: its name
    load_id = repo_id or (f"weights/{bundled}" if bundled else PLACEHOLDER_REPO)
    repo_id = repo_id or bundled or PLACEHOLDER_REPO
    metrics = {k: v for k, v in (config.get("metrics") or {}).items() if _number(v)}
    vae = config.get("family") == "vae"  # a VAE's decoder, saved as a generator (ganstudio.vae.checkpoint)
    card_data = ModelCardData(
        library_name=LIBRARY,
        license=LICENSE,
        tags=sorted({"vae" if vae else "gan", LIBRARY, arch, *([data] if data else []), *(tags or [])}),
        pipeline_tag="unconditional-image-generation" if images else None,
        datasets=[HUB_DATASETS[data]] if data in HUB_DATASETS else None,
        model_name=repo_id.split("/")[-1],
        eval_results=[
            EvalResult(task_type="unconditional-image-generation" if images else "other", dataset_type=data or "custom",
                       dataset_name=data or "custom", metric_type=key, metric_name=key.replace("_", " "),
                       metric_value=value)
            for key, value in metrics.items()
        ] or None,
    )
    train = config.get("train") or {}
    shape = config.get("image_shape") or []
    return ModelCard.from_template(
        card_data,
        template_str=TEMPLATE,
        repo_id=repo_id,
        load_id=load_id,
        load_note="  # from the repository's root" if load_id.startswith("weights/") else "",
        title=(f"VAE ({arch.upper()} decoder)" if vae else f"{arch.upper()}{'' if arch.endswith('gan') else ' GAN'}")
        + f" on {data or 'custom data'}",
        summary=(f"{_origin(config)} {'The decoder of a VAE (its encoder is in encoder/): generator' if vae else 'Generator'} "
                 f"`{arch}`, latent size {config.get('z_dim')}, "
                 f"{config.get('n_classes') or 'no'} classes, "
                 f"output {'images ' + 'x'.join(map(str, shape)) if images else '2D points'}."),
        sample_shape=(f"uint8 (16, {shape[1]}, {shape[2]}, {shape[0]})" if images and len(shape) == 3
                      else "float32 (16, 2) points" if not images else "uint8 images"),
        metrics_table=_table("metric", {k: v for k, v in (config.get("metrics") or {}).items()
                                        if not isinstance(v, (dict, list))}),
        settings_table=_table("setting", {k: train[k] for k in (VAE_SETTINGS_SHOWN if vae else SETTINGS_SHOWN)
                                          if k in train}),
        spec_json=json.dumps({k: config[k] for k in _spec_fields() if k in config}, sort_keys=True),
    )


def _origin(config: dict) -> str:
    if config.get("source"):  # a community model converted by ganstudio.gan.community
        return f"Converted by GAN Studio from `{config['source']}` ({config.get('layout', 'a known layout')})."
    return f"Trained with GAN Studio for {config.get('steps', 0)} steps ({config.get('seconds', 0)} s of training)."


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _table(what: str, rows: dict) -> str:
    lines = [f"| {what} | value |", "| --- | --- |"] + [f"| {k} | {v!r} |" for k, v in rows.items()]
    return "\n".join(lines) if rows else "(none recorded)"


def _spec_fields() -> tuple[str, ...]:
    return tuple(GanSpec.__dataclass_fields__)
