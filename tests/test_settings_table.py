"""One checking path: the Train form (and API) and `python -m ganstudio train` accept and refuse the same values.

Each row is sent both ways: as the page sends it (a plain value in the params dict) and as the command line sends
it (the flag's text). Both must accept it and build the same run, or both refuse it with the same line (which
quotes the value as it came: '2.5' from a flag, 2.5 from a number box). One difference is by design: a live run
needs no budget (the visitor stops it), a headless one does (`--steps` or `--seconds` other than 0).
"""

from __future__ import annotations

import pytest

from ganstudio.errors import BadInput

ROWS = [  # (field, value): each is tried both ways
    ("steps", 300), ("steps", 3.0), ("steps", 2.5), ("steps", -1), ("steps", 10**12), ("steps", "nan"),
    ("seconds", 12.5), ("seconds", -3), ("seconds", "inf"), ("seconds", 10**9),
    ("batch_size", 64), ("batch_size", 1), ("batch_size", 9000),
    ("z_dim", 8), ("z_dim", 0), ("z_dim", 2000),
    ("lr_g", 1e-3), ("lr_g", 0), ("lr_g", 2.0), ("lr_d", "abc"),
    ("beta1_g", 0.5), ("beta2_d", 1.0), ("beta1_d", 0.0), ("beta2_g", 0.95), ("beta1_g", -0.1), ("beta2_g", "x"),
    ("beta1_d", "nan"), ("ema", 0.9), ("ema", 1.5),
    ("d_steps", 5), ("d_steps", 21), ("pack", 4), ("pack", 3), ("pack", 17),
    ("r1", 0.1), ("r1", -1), ("gp_weight", 2000), ("lr_decay", 1.1),
    ("hidden", 64), ("hidden", 3), ("depth", 13), ("seed", 7), ("seed", -1), ("seed", 2**32),
    ("arch", "dcgan"), ("arch", "fc"), ("arch", "bogus"), ("loss", "hinge"), ("loss", "bogus"), ("g_out", "pixelshuffle"),
    ("diffaug", "blur"), ("fid_samples", 10), ("metric_every_s", -1),
]


def _page(field, value):
    from ganstudio.actions.train import make_config

    return make_config({"data": "ring8", field: value})


def _cli(field, value):
    from ganstudio.cli import build_parser
    from ganstudio.gan.cli import config_from_args

    args = build_parser().parse_args(["train", "--data", "ring8", "--out", "unused",
                                      "--" + field.replace("_", "-"), str(value)])
    return config_from_args(args)


def _outcome(make, field, value):
    try:
        return "ok", make(field, value).to_dict()
    except BadInput as err:
        return "refused", str(err)


@pytest.mark.parametrize("field, value", ROWS)
def test_page_and_command_line_agree(field, value):
    page, cli = _outcome(_page, field, value), _outcome(_cli, field, value)
    assert page[0] == cli[0], f"page: {page}, command line: {cli}"
    if page[0] == "refused":
        assert page[1].replace("'", "") == cli[1].replace("'", "") and "\n" not in page[1]
    else:  # the same run; only the budget differs where a step budget makes the CLI drop the preset's seconds
        assert {k: v for k, v in page[1].items() if k not in ("steps", "seconds")} == \
            {k: v for k, v in cli[1].items() if k not in ("steps", "seconds")}


def test_the_table_covers_refusals_and_acceptances():
    outcomes = {_outcome(_page, f, v)[0] for f, v in ROWS}
    assert outcomes == {"ok", "refused"}


def test_custom_points_obey_one_limit_everywhere():
    from ganstudio.actions.train import make_config
    from ganstudio.gan.config import TrainConfig
    from ganstudio.limits import LIMITS

    too_many = [[0.1, 0.2]] * (LIMITS.max_custom_points + 1)
    with pytest.raises(BadInput, match=f"at most {LIMITS.max_custom_points}"):
        TrainConfig.defaults_for("custom", custom_points=too_many).validate()
    with pytest.raises(BadInput, match=f"at most {LIMITS.max_custom_points}"):
        make_config({"data": "custom", "custom_points": too_many})
    assert len(TrainConfig.defaults_for("custom", custom_points=too_many[:-1]).validate().custom_points) == \
        LIMITS.max_custom_points
