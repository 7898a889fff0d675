"""Count-based caption baselines (unigram, Kneser-Ney trigrams) and their scoring."""

from dank.models.ngram.ngram import KneserNeyTrigram, TemplateKneserNey, UnigramModel

BASELINES = {
    "unigram": UnigramModel,
    "kn_trigram": KneserNeyTrigram,  # Ignores the template.
    "kn_trigram_template": TemplateKneserNey,  # The model to beat.
}


def score(model, captions):
    """``dank.models.language.perplexity.summarize`` of ``captions`` under ``model``."""
    from dank.models.perplexity import caption_words, summarize

    nll = sum(model.nll(c) for c in captions)
    tokens = sum(len(c["tokens"]) - 1 for c in captions)
    words = sum(caption_words(c["top"], c["bottom"]) for c in captions)
    return summarize(nll, tokens, words, len(captions))


def evaluate_baselines(data_dir, split="test", names=tuple(BASELINES)):
    """Fits each baseline on the build's training split; scores ``split``."""
    from dank.data.pipeline import load_captions, load_vocab

    vocab_size = len(load_vocab(data_dir))
    train, held_out = load_captions(data_dir, "train"), load_captions(data_dir, split)
    return {
        name: score(BASELINES[name](vocab_size).fit(train), held_out) for name in names
    }
