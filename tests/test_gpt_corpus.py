"""Cleaning the Gutenberg Shakespeare texts: what is dropped, what is kept, and the held-out cut."""

from __future__ import annotations

from ganstudio.gpt.corpus import clean_work, read_works, split_work, strip_gutenberg

PLAY = """HAMLET, PRINCE OF DENMARK

by William Shakespeare




PERSONS REPRESENTED.

Claudius, King of Denmark.
Hamlet, Son to the former, and Nephew to the present King.
Players.
Prologue.

SCENE. Elsinore.



ACT I.

Scene I. Elsinore. A platform before the Castle.

[Francisco at his post. Enter to him Bernardo.]

Ber.
Who's there?   

Fran.
Nay, answer me: stand, and unfold yourself.
                    Long live the king!



ACT II.

Fran.
Bernardo?

THE END
"""


def test_a_play_keeps_its_speeches_and_loses_title_cast_and_scene_note():
    text = clean_work(PLAY)
    assert text.startswith("ACT I.\n\nScene I. Elsinore. A platform before the Castle.\n")
    for dropped in ("HAMLET, PRINCE", "by William", "PERSONS REPRESENTED", "Claudius, King", "SCENE. Elsinore",
                    "THE END"):
        assert dropped not in text
    assert "Ber.\nWho's there?\n\nFran.\nNay, answer me: stand, and unfold yourself.\nLong live the king!\n" in text
    assert "[Francisco at his post. Enter to him Bernardo.]" in text  # stage directions stay
    assert text.endswith("ACT II.\n\nFran.\nBernardo?\n")


def test_layout_is_normalised():
    text = clean_work(PLAY)
    assert "\n\n\n" not in text
    assert all(line == line.strip() for line in text.splitlines())  # no indentation, no trailing spaces
    assert clean_work(PLAY.replace("\n", "\r\n")) == text


def test_a_prologue_or_induction_opens_the_play_and_a_cast_entry_named_prologue_does_not():
    play = "ROMEO AND JULIET\n\nby William Shakespeare\n\nDramatis Personae\n\nChorus.\nPrologue\n\n" \
           "SCENE.--Verona.\n\nTHE PROLOGUE\n\n[Enter Chorus.]\n\nChor.\nTwo households, both alike in dignity,\n" \
           "\nACT I.\n\nSampson.\nGregory, o' my word, we'll not carry coals.\n"
    assert clean_work(play).startswith("THE PROLOGUE\n\n[Enter Chorus.]\n\nChor.\nTwo households")
    shrew = "THE TAMING OF THE SHREW\nby William Shakespeare\nDramatis Personae\nPersons in the Induction\n" \
            "A LORD\n\nINDUCTION.\n\nSCENE I. Before an alehouse on a heath.\n"
    assert clean_work(shrew).startswith("INDUCTION.\n\nSCENE I.")


def test_act_first_and_arabic_numbers_open_a_play_but_act_two_does_not():
    for heading in ("ACT FIRST.", "ACT 1", "Act 1.", "ACT I"):
        assert clean_work(f"X\nby William Shakespeare\nDRAMATIS PERSONAE\nA LORD\n\n{heading}\n\nA.\nHo!\n") \
            .startswith(heading + "\n")
    text = clean_work("X\nby William Shakespeare\nDRAMATIS PERSONAE\nA LORD\n\nACT II.\n\nA.\nHo!\n")
    assert "by William" not in text and text.startswith("DRAMATIS PERSONAE")  # no opening: title page only


def test_a_table_of_contents_is_dropped_and_the_play_starts_at_its_first_entry():
    play = "HAMLET\n\nby William Shakespeare\n\nContents\n\n ACT I\n Scene I. Elsinore.\n ACT II\n" \
           " Scene I. A room.\n\n\n Dramatis Personae\n\nHamlet.\n\n\nACT I\n\nSCENE I. Elsinore.\n\n" \
           "BERNARDO.\nWho's there?\n\nACT II\n\nSCENE I. A room.\n"
    text = clean_work(play)
    assert text.startswith("ACT I\n\nSCENE I. Elsinore.\n\nBERNARDO.\nWho's there?")
    assert "Contents" not in text and "Dramatis" not in text


def test_gutenberg_header_licence_and_notices_are_stripped():
    raw = ("The Project Gutenberg eBook of Hamlet\n\nThis eBook is for the use of anyone anywhere...\n"
           "*** START OF THE PROJECT GUTENBERG EBOOK HAMLET ***\n\nHAMLET\n\nby William Shakespeare\n\n"
           "DRAMATIS PERSONAE\n\nHamlet.\n\nACT I.\n\nHam.\nA little more than kin.\n"
           "<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM\nSHAKESPEARE IS COPYRIGHT 1990-1993>>\n"
           "\nHam.\nNot so, my lord.\n\n*** END OF THE PROJECT GUTENBERG EBOOK HAMLET ***\n\n"
           "Section 1. General Terms of Use and Redistributing Project Gutenberg electronic works\n")
    assert "Project Gutenberg" not in strip_gutenberg(raw)
    text = clean_work(raw)
    assert text == "ACT I.\n\nHam.\nA little more than kin.\n\nHam.\nNot so, my lord.\n"


def test_a_poem_loses_its_title_and_dedication_and_keeps_the_argument_and_verse():
    poem = ("THE RAPE OF LUCRECE\n\nby William Shakespeare\n\n\n\n     THE RAPE OF LUCRECE\n\n        TO THE\n"
            "  RIGHT HONOURABLE HENRY WRIOTHESLY,\n\nTHE love I dedicate to your Lordship is without end;\n"
            "                  Your Lordship's in all duty,\n                       WILLIAM SHAKESPEARE.\n\n"
            "                 THE ARGUMENT.\n\nLUCIUS TARQUINIUS, for his excessive pride surnamed Superbus,\n\n"
            "From the besieged Ardea all in post,\nBorne by the trustless wings of false desire,\n")
    text = clean_work(poem)
    assert text.startswith("THE ARGUMENT.\n\nLUCIUS TARQUINIUS")
    assert "dedicate" not in text and "WILLIAM SHAKESPEARE" not in text
    assert text.endswith("Borne by the trustless wings of false desire,\n")
    sonnets = "THE SONNETS\nby William Shakespeare\n\n\n\nI\n\nFrom fairest creatures we desire increase,\n" \
              "  Pity the world, or else this glutton be,\n"
    assert clean_work(sonnets) == "I\n\nFrom fairest creatures we desire increase,\nPity the world, or else this glutton be,\n"


def test_split_cuts_at_a_line_start_and_holds_out_the_tail():
    text = "".join(f"line {i:03d} of verse\n" for i in range(100))  # 18 characters a line
    train, heldout = split_work(text, 0.05)
    assert train + heldout == text
    assert heldout.startswith("line ") and train.endswith("\n")
    assert heldout == text[-4 * 18:]  # the 5 % mark (line 95's start) moves on to the next line start
    train, heldout = split_work(text[:-7], 0.05)
    assert heldout.startswith("line 095")
    assert split_work("one line\n", 0.05) == ("one line\n", "")


def test_read_works_cleans_every_matching_file_in_name_order(tmp_path):
    (tmp_path / "b_gut.txt").write_text("B\nby William Shakespeare\n\nSecond.\n")
    (tmp_path / "a_gut.txt").write_text("A\nby William Shakespeare\n\nFirst.\n")
    (tmp_path / "a_gut_f.txt").write_text("Folio spelling, not wanted\n")
    (tmp_path / "empty_gut.txt").write_text("E\nby William Shakespeare\n\n")
    works = read_works(tmp_path)
    assert [(w.name, w.text) for w in works] == [("a_gut", "First.\n"), ("b_gut", "Second.\n")]
