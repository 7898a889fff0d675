"""TFRecord writer: the crawl's captions and template images in the foundation's format.

Records are made by ``dank.data.records`` (``caption_example``,
``image_example``) with the label ids of an existing data build's catalogue and
the token ids of its vocabulary (setting ``DANK_TFRECORD_DATA``), so they load
with ``dank.data.records.parse_caption`` / ``parse_image`` like any build.

Shards are cut from the JSONL logs that ``ExportPipeline`` appends to, in log
order, and named by the log lines they hold::

    tfrecords/crawl-captions-00000000-00001000.tfrecord   lines [0, 1000)

Each shard is written beside its final name and renamed into place when full
(``dank.core.io.atomic_path``), so an interrupted crawl leaves only whole shards,
and a resumed crawl (``JOBDIR``) starts after the last line a shard holds.

``caption/score`` is the mid-rank upvote percentile within the template among
the captions crawled so far (``dank.data.splits.percentiles``); a crawl cannot
know the final ranking while it runs. ``dank data build --source CRAWL_DIR``
recomputes scores over the finished crawl and makes the train/val/test splits.
"""

import json
import logging
import re
import time
from pathlib import Path

from scrapy.exceptions import NotConfigured

from dank.core.errors import DankError
from dank.core.io import atomic_path
from dank_spiders.crawl_dir import CAPTIONS_LOG, TEMPLATES_LOG, out_dir

logger = logging.getLogger(__name__)

TFRECORD_DIR = "tfrecords"
SHARD_PATTERN = "crawl-{kind}-{start:08d}-{end:08d}.tfrecord"
_SHARD_RE = re.compile(
    r"crawl-(?P<kind>\w+)-(?P<start>\d{8})-(?P<end>\d{8})\.tfrecord$"
)


def lines_done(directory, kind):
    """How many log lines the finished shards of ``kind`` in ``directory`` hold."""
    ends = [
        int(m["end"])
        for p in Path(directory).glob(f"crawl-{kind}-*.tfrecord")
        if (m := _SHARD_RE.match(p.name)) and m["kind"] == kind
    ]
    return max(ends, default=0)


class LogShards:
    """Follows one JSONL log and writes its lines into shards of ``size`` records.

    Args:
        log: the JSONL file (appended to by ``ExportPipeline``).
        directory: where the shards go.
        kind: ``"captions"`` or ``"images"`` (part of the shard name).
        size: lines per shard.
        encode: ``row dict -> serialised record or a reason string`` to skip it.
        on_read: called with every row read, including rows already in shards.
    """

    def __init__(self, log, directory, kind, size, encode, on_read=lambda row: None):
        self.directory, self.kind, self.size = Path(directory), kind, size
        self.encode, self.on_read = encode, on_read
        self.done = lines_done(self.directory, kind)
        self.log = Path(log)
        self.position = 0  # Byte offset in the log up to which lines were read.
        self.pending = []  # Rows read but not yet in a shard.
        self.skipped = {}  # Reason -> count of rows that made no record.
        for seen, row in enumerate(self._read(), start=1):
            self.on_read(row)
            if seen > self.done:
                self.pending.append(row)

    def _read(self):
        if not self.log.is_file():
            return
        with self.log.open("rb") as f:
            f.seek(self.position)
            for line in f:
                if not line.endswith(b"\n"):
                    break  # A line still being written; read it next time.
                self.position += len(line)
                yield json.loads(line)

    def poll(self):
        """Reads new log lines; writes every full shard."""
        for row in self._read():
            self.on_read(row)
            self.pending.append(row)
        while len(self.pending) >= self.size:
            self._write(self.pending[: self.size])
            self.pending = self.pending[self.size :]

    def close(self):
        """Writes the last, partial shard."""
        self.poll()
        if self.pending:
            self._write(self.pending)
            self.pending = []

    def _write(self, rows):
        import tensorflow as tf

        name = SHARD_PATTERN.format(
            kind=self.kind, start=self.done, end=self.done + len(rows)
        )
        with (
            atomic_path(self.directory / name) as tmp,
            tf.io.TFRecordWriter(str(tmp)) as writer,
        ):
            for row in rows:
                record = self.encode(row)
                if isinstance(record, str):
                    self.skipped[record] = self.skipped.get(record, 0) + 1
                else:
                    writer.write(record)
        self.done += len(rows)


class TFRecordPipeline:
    """Writes caption and image shards under ``DANK_OUT/tfrecords/`` (module doc)."""

    def __init__(self, crawler, data_dir):
        from dank.data.catalogue import Catalogue
        from dank.data.vocab import Vocabulary

        self.crawler = crawler
        self.out = out_dir(crawler)
        self.size = crawler.settings.getint("DANK_TFRECORD_SHARD_SIZE", 1000)
        self.catalogue = Catalogue.load(data_dir)
        self.vocab = Vocabulary.load(data_dir)
        self.scores = {}  # template_id -> upvotes of the captions read so far.
        self.names = {}  # template_id -> display name, from the templates log.
        self.written = {"captions": 0, "images": 0}
        self.seconds = 0.0  # Spent reading logs, encoding and writing shards.

    @classmethod
    def from_crawler(cls, crawler):
        data_dir = crawler.settings.get("DANK_TFRECORD_DATA")
        if not data_dir:
            raise NotConfigured  # No message: Scrapy then logs it quietly (debug).
        return cls(crawler, data_dir)

    def open_spider(self, spider=None):
        import tensorflow  # noqa: F401  (imported here, outside the writer's timing)

        directory = self.out / TFRECORD_DIR
        directory.mkdir(parents=True, exist_ok=True)
        # Templates first, so their names are known when captions are labelled.
        self.shards = [
            LogShards(
                self.out / TEMPLATES_LOG,
                directory,
                "images",
                self.size,
                self.image_record,
                self._remember_name,
            ),
            LogShards(
                self.out / CAPTIONS_LOG,
                directory,
                "captions",
                self.size,
                self.caption_record,
                self._remember_score,
            ),
        ]

    def _remember_score(self, row):
        self.scores.setdefault(row["template_id"], []).append(float(row["score"]))

    def _remember_name(self, row):
        self.names[row["template_id"]] = row.get("name", "")

    def _label(self, template_id):
        """The catalogue label of a crawled template: by id, else by its name.

        A crawl's id need not be the catalogue's (``mgnet-success-kid`` against
        a catalogue built from imgflip); the catalogue also knows names and
        aliases, so the template's display name can still find it.
        """
        for key in (template_id, self.names.get(template_id)):
            if key:
                try:
                    return self.catalogue.label_of(key)
                except DankError:
                    pass
        return None

    def caption_record(self, row):
        """A caption log row -> a serialised caption record, or why not."""
        from dank.data import records, splits, text

        label = self._label(row["template_id"])
        if label is None:
            return "unknown_template"
        boxes = row["boxes"] + [""] * (2 - len(row["boxes"]))
        top, bottom, reason = text.check_caption(boxes[0], " ".join(boxes[1:]))
        if reason:
            return reason
        tokens = self.vocab.encode(text.caption_tokens(top, bottom))
        scores = self.scores[row["template_id"]]  # Already holds this caption's.
        score = splits.percentiles(scores)[scores.index(float(row["score"]))]
        self.written["captions"] += 1
        return records.caption_example(label, tokens, score, top, bottom)

    def image_record(self, row):
        """A template log row -> a serialised image record (JPEG), or why not."""
        from dank.core.images import open_image, to_jpeg
        from dank.data import records

        label = self._label(row["template_id"])
        if label is None:
            return "unknown_template"
        if not row.get("images"):
            return "no_image"
        try:
            image = open_image(self.out / row["images"][0]["path"])
        except DankError:
            return "bad_image"
        self.written["images"] += 1
        return records.image_example(to_jpeg(image), row["template_id"], label)

    def process_item(self, item, spider=None):
        start = time.perf_counter()
        for shards in self.shards:
            shards.poll()
        self.seconds += time.perf_counter() - start
        return item

    def close_spider(self, spider=None):
        stats = self.crawler.stats
        start = time.perf_counter()
        for shards in self.shards:
            shards.close()
        self.seconds += time.perf_counter() - start
        # Time inside the writer, to compare with the crawl's wall time.
        stats.set_value("dank/tfrecord/seconds", round(self.seconds, 3))
        for shards in self.shards:
            for reason, n in shards.skipped.items():
                stats.inc_value(f"dank/tfrecord/skipped_{shards.kind}/{reason}", n)
        for kind, n in self.written.items():
            stats.set_value(f"dank/tfrecord/{kind}", n)
