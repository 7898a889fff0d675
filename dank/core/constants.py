"""Special tokens, TFRecord feature keys and run-directory names, in one place.

Every module that reads or writes a vocabulary, a TFRecord or a run directory
takes its names from here, so a rename happens once.
"""

# Special tokens. Their ids are fixed: the vocabulary always starts with them in
# this order, so PAD is 0 (the masking value) and UNK is 1.
PAD = "<pad>"
UNK = "<unk>"
START = "<s>"
END = "</s>"
SEP = "<sep>"  # Between top and bottom text: the paper had no separator.
EMP = "<emp>"  # Stands for an empty box, so "top only" captions stay explicit.
SPECIAL_TOKENS = (PAD, UNK, START, END, SEP, EMP)
PAD_ID, UNK_ID, START_ID, END_ID, SEP_ID, EMP_ID = range(len(SPECIAL_TOKENS))

# The paper's tokenizer regex (PAPER.md), applied to lower-cased text. The
# character class is kept verbatim, including its "@-_" range.
TOKEN_PATTERN = r"[\w']+|[.,:!?;'>‹(){}%$#£@-_+=|\/~`^&*]"

# TFRecord feature keys: template images.
IMAGE_ENCODED = "image/encoded"  # bytes: the encoded template image (JPEG/PNG).
IMAGE_TEMPLATE_ID = "image/template_id"  # bytes: the canonical template id.
IMAGE_LABEL = "image/label"  # int64: the template's label index in the catalogue.

# TFRecord feature keys: captions.
CAPTION_LABEL = "caption/label"  # int64: the template's label index.
CAPTION_TOKENS = "caption/tokens"  # int64 list: <s> top <sep> bottom </s>.
CAPTION_SCORE = "caption/score"  # float: upvote percentile within the template.
CAPTION_TOP = "caption/top"  # bytes: cleaned top text (for drawing and metrics).
CAPTION_BOTTOM = "caption/bottom"  # bytes: cleaned bottom text.
CAPTION_WEIGHT = "caption/weight"  # float: loss weight (below 1: safety-flagged).
CAPTION_UPVOTES = "caption/upvotes"  # float: raw imgflip upvotes; NaN when none.
CAPTION_VIEWS = "caption/views"  # float: views of the captioned meme; NaN when none.

# Files in a data build (``dank data build --out DIR``).
CATALOGUE_FILE = "catalogue.json"
VOCAB_FILE = "vocab.json"
CARD_FILE = "card.md"
IMAGES_PATTERN = "images-{shard:05d}-of-{n:05d}.tfrecord"
CAPTIONS_PATTERN = "captions-{split}-{shard:05d}-of-{n:05d}.tfrecord"
SPLITS = ("train", "val", "test")

# Files in a run directory (``--run DIR``).
RUN_CONFIG_FILE = "run.json"
VISION_DIR = "vision"
LANGUAGE_DIR = "language"  # The default (template) caption model.


def language_dir(variant="template"):
    """The run subdirectory of a caption-model variant.

    The default ``template`` model lives in ``language/``; the paper's variants
    in ``language-image/``, ``language-label_average/``, ``language-attention/``,
    so training one never overwrites another.
    """
    return LANGUAGE_DIR if variant == "template" else f"{LANGUAGE_DIR}-{variant}"


MODEL_FILE = "model.keras"
CALIBRATION_FILE = "calibration.json"
METRICS_FILE = "metrics.json"
BACKUP_DIR = "backup"
LOGS_DIR = "logs"
SAMPLES_DIR = "samples"
DEFAULT_RUN = "runs/default"
