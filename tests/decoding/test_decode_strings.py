"""split_top_bottom: ids to top and bottom text, in TensorFlow ops."""

import tensorflow as tf

from dank.decoding import split_top_bottom

VOCAB = [
    "<pad>",
    "<unk>",
    "<s>",
    "</s>",
    "<sep>",
    "<emp>",
    "one",
    "does",
    "not",
    "simply",
    "walk",
    ".",
    "!",
    "don't",
    "(",
    "me",
    ")",
    ",",
    "%",
    "100",
]
ID = {word: i for i, word in enumerate(VOCAB)}


def ids(text):
    return [ID[word] for word in text.split()]


def split(text):
    top, bottom = split_top_bottom(tf.constant([ids(text)]), tf.constant(VOCAB))
    return top[0].numpy().decode(), bottom[0].numpy().decode()


def test_splits_at_sep_and_stops_at_end():
    text = "<s> one does not simply <sep> walk . </s> <pad> <pad>"
    assert split(text) == ("one does not simply", "walk.")


def test_no_sep_is_all_top_text():
    assert split("one does not simply walk </s>") == ("one does not simply walk", "")


def test_emp_gives_an_empty_box():
    assert split("<emp> <sep> walk ! </s>") == ("", "walk!")
    assert split("walk <sep> <emp> </s>") == ("walk", "")


def test_nothing_after_end_is_shown():
    # Regression for "an end token that never matches": text after </s> (and a
    # second <sep>) must not leak into the caption.
    assert split("one </s> walk <sep> simply") == ("one", "")


def test_punctuation_and_apostrophes_read_naturally():
    text = "don't ( me ) , walk ! <sep> 100 % . </s>"
    assert split(text) == ("don't (me), walk!", "100%.")


def test_any_leading_shape_and_inside_tf_function():
    tokens = tf.constant(
        [
            [ids("one <sep> walk </s>"), ids("walk ! </s> <pad>")],
            [ids("<s> not <sep> me"), ids("<pad> <pad> <pad> <pad>")],
        ]
    )

    @tf.function
    def run(tokens):
        return split_top_bottom(tokens, tf.constant(VOCAB))

    top, bottom = run(tokens)
    assert top.shape == (2, 2)
    assert top.numpy().tolist() == [[b"one", b"walk!"], [b"not", b""]]
    assert bottom.numpy().tolist() == [[b"walk", b""], [b"me", b""]]
