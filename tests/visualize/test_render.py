"""The HTML view of clusters and groundings, and the `visualize` command."""
import base64
import json
import re
import struct
import zlib
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import numpy
import pytest
import spacy
from spacy import displacy
from spacy.language import Language
from spacy.tokens import DocBin, SpanGroup
from typer.testing import CliRunner

from mcr_spacy import ImageRegions, annotate_gold, clusters_to_span_group, set_mentions
from mcr_spacy.cli import app
from mcr_spacy.errors import AlignmentError, DataFormatError
from mcr_spacy.visualize import MUTED, PALETTE, build_view, encode_png, image_data_uri, image_file_size, render

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FLICKR = SHARED_DATA / "flickr30k-sample"

TEXT = "In this picture we can see a man holding a dog. He is wearing a <red> shirt & it is looking at him."
MAN_BOX = [10.0, 20.0, 200.0, 400.0]
DOG_BOX = [220.0, 250.0, 380.0, 420.0]
SHIRT_BOX = [60.0, 120.0, 190.0, 260.0]


class Tags(HTMLParser):
    """Start tags with their attributes, and a check that tags are balanced."""

    VOID = {"br", "meta", "input", "image", "rect", "line", "img"}

    def __init__(self, text):
        super().__init__()
        self.tags, self.stack, self.errors = [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()

    def find(self, tag, cls=None, **attrs):
        out = []
        for t, a in self.tags:
            if t != tag:
                continue
            if cls is not None and cls not in (a.get("class") or "").split():
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(a)
        return out


def char(text, s, last=False):
    i = text.rindex(s) if last else text.index(s)
    return i, i + len(s)


def make_pair(nlp=None, *, wrong_it_box=True):
    """A predicted doc in the component's format and its gold reference doc."""
    nlp = nlp or spacy.blank("en")
    doc = nlp.make_doc(TEXT)
    sp = lambda s, last=False: doc.char_span(*char(TEXT, s, last))  # noqa: E731
    man, dog, he, shirt, it, him = sp("a man"), sp("a dog"), sp("He"), sp("a <red> shirt"), sp("it", True), sp("him")
    doc._.image_regions = ImageRegions(
        [MAN_BOX, DOG_BOX, SHIRT_BOX], labels=["man", "dog", "shirt"], image_size=(400, 450), image_id="demo<1>"
    )
    it_box = SHIRT_BOX if wrong_it_box else DOG_BOX
    for span, box, region in ((man, MAN_BOX, 0), (he, MAN_BOX, 0), (him, MAN_BOX, 0), (dog, DOG_BOX, 1),
                              (it, it_box, 2 if wrong_it_box else 1), (shirt, SHIRT_BOX, 2)):
        span._.grounding = {"region": region, "box": box, "score": 0.8, "refined_box": [v + 4 for v in box]}
    doc.spans["coref_clusters_1"] = SpanGroup(
        doc, name="coref_clusters_1", spans=[man, he, him],
        attrs={"grounding": {"region": 0, "box": MAN_BOX, "score": 0.9, "refined_box": [14.0, 25.0, 195.0, 390.0]}},
    )
    doc.spans["coref_clusters_2"] = SpanGroup(
        doc, name="coref_clusters_2", spans=[dog, it],
        attrs={"grounding": {"region": 1, "box": DOG_BOX, "score": 0.7, "refined_box": None}},
    )
    doc.spans["coref_mentions"] = SpanGroup(doc, name="coref_mentions", spans=[man, dog, he, shirt, it, him])
    gold = nlp.make_doc(TEXT)
    o = {name: char(TEXT, s, last) for name, s, last in (
        ("man", "a man", False), ("dog", "a dog", False), ("he", "He", False), ("shirt", "a <red> shirt", False),
        ("it", "it", True), ("him", "him", False))}
    annotate_gold(
        gold,
        [[o["man"], o["he"], o["him"]], [o["dog"], o["it"]], [o["shirt"]]],
        {o["man"]: [MAN_BOX], o["he"]: [MAN_BOX], o["him"]: [MAN_BOX], o["dog"]: [DOG_BOX], o["it"]: [DOG_BOX],
         o["shirt"]: [SHIRT_BOX]},
    )
    set_mentions(gold, list(o.values()))
    gold._.image_regions = doc._.image_regions
    return doc, gold


def rect_of(box):
    x1, y1, x2, y2 = box
    fmt = lambda v: f"{v:.1f}".rstrip("0").rstrip(".")  # noqa: E731
    return {"x": fmt(x1), "y": fmt(y1), "width": fmt(x2 - x1), "height": fmt(y2 - y1)}


def has_rect(tags, box, cls):
    want = rect_of(box)
    return any(all(a.get(k) == v for k, v in want.items()) for a in tags.find("rect", cls))


def test_every_mention_cluster_colour_and_box_present():
    doc, _ = make_pair()
    page = render(doc)
    tags = Tags(page)
    assert not tags.errors and not tags.stack
    spans = tags.find("span", "mention")
    mids = {a["data-m"] for a in spans}
    assert mids == {f"m{s.start_char}-{s.end_char}" for s in doc.spans["coref_mentions"]}
    # cluster colours on mentions and boxes; the singleton is muted
    by_cluster = {}
    for a in spans:
        by_cluster.setdefault(a.get("data-c"), set()).add(re.search(r"--c:(#[0-9a-f]+)", a["style"]).group(1))
    colours = {c for cs in by_cluster.values() for c in cs}
    assert {PALETTE[0], PALETTE[1], MUTED} == colours
    assert all(len(cs) == 1 for cs in by_cluster.values())
    shirt = next(a for a in spans if a["title"].startswith("a &lt;red&gt; shirt") or "shirt" in a["title"])
    assert "singleton" in shirt["class"].split() and MUTED in shirt["style"]
    # every box: cluster boxes, refined (dashed class), mention boxes, the singleton's box
    assert has_rect(tags, MAN_BOX, "box-cluster")
    assert has_rect(tags, DOG_BOX, "box-cluster")
    assert has_rect(tags, [14.0, 25.0, 195.0, 390.0], "box-refined")
    assert has_rect(tags, SHIRT_BOX, "singleton")
    for span in doc.spans["coref_mentions"]:
        if span.text == "a <red> shirt":
            continue
        g = span._.grounding
        mid = f"m{span.start_char}-{span.end_char}"
        own = [a for a in tags.find("rect", "box-mention") if a["data-m"] == mid]
        assert any(all(a.get(k) == v for k, v in rect_of(g["box"]).items()) for a in own), span.text
        assert any("box-refined" in a["class"] for a in own)
    cluster_boxes = tags.find("rect", "box-cluster")
    assert {re.search(r"--c:(#[0-9a-f]+)", a["style"]).group(1) for a in cluster_boxes} == {PALETTE[0], PALETTE[1], MUTED}
    # labels and legend name each cluster
    labels = [a for a in tags.find("text", "box-label")]
    assert len(labels) >= 2
    assert "C1 a man" in page and "C2 a dog" in page
    assert len(tags.find("li", "legend-item")) == 2


def test_escaping_and_no_network_assets():
    nlp = spacy.blank("en")
    text = 'Look: <script>alert("x")</script> & a "quoted" man.'
    doc = nlp.make_doc(text)
    s1 = doc.char_span(*char(text, "<script>alert(\"x\")</script>"), alignment_mode="expand")
    s2 = doc.char_span(*char(text, "man"))
    s1._.grounding = {"region": None, "box": [1, 1, 5, 5], "score": 0.1, "refined_box": None}
    doc.spans["coref_clusters_1"] = SpanGroup(doc, name="coref_clusters_1", spans=[s1, s2])
    doc._.image_regions = ImageRegions.empty((50, 40), image_id='<img src=x onerror="alert(1)">')
    page = render(doc)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count("<script>") == 1  # the view's own script
    tags = Tags(page)
    assert not tags.errors
    # no network: no external src/href, no <link>, no @import or url(http...)
    assert not tags.find("link")
    for _, attrs in tags.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith(("data:", "#", "index.html")), value
    assert "@import" not in page and "url(http" not in page
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"]
    # a cluster prefix with quotes and spaces stays out of attributes
    odd = 'my "coref" <x>'
    doc.spans[f"{odd}_1"] = doc.spans.pop("coref_clusters_1")
    odd_page = render(doc, prefix=odd)
    assert not Tags(odd_page).errors
    assert {a["data-c"] for a in Tags(odd_page).find("span", "mention")} == {"pred-c1"}


def test_image_inputs_are_inlined(tmp_path):
    doc, _ = make_pair()
    rng = numpy.random.default_rng(0)
    array = rng.integers(0, 256, size=(45, 40, 3), dtype=numpy.uint8)
    png = encode_png(array)
    assert decode_png(png).tolist() == array.tolist()
    assert image_file_size(png) == (40, 45)
    path = tmp_path / "img.png"
    path.write_bytes(png)
    uris = [image_data_uri(x)[0] for x in (array, png, path, str(path))]
    assert len(set(uris)) == 1 and uris[0].startswith("data:image/png;base64,")
    assert base64.b64decode(uris[0].split(",", 1)[1]) == png
    page = render(doc, path)
    tags = Tags(page)
    images = tags.find("image")
    assert len(images) == 1 and images[0]["href"] == uris[0]
    # boxes are in the pixels of image_size, whatever the image's own size
    assert tags.find("svg", "canvas-svg")[0]["viewbox"] == "0 0 400 450"
    grey = encode_png(numpy.zeros((3, 2), dtype=numpy.uint8))
    assert decode_png(grey).shape == (3, 2)
    with pytest.raises(DataFormatError, match=r"\[E508\]"):
        render(doc, array.astype("float32"))
    with pytest.raises(DataFormatError, match=r"\[E507\]"):
        render(doc, b"hello")
    with pytest.raises(FileNotFoundError, match=r"\[E505\]"):
        render(doc, tmp_path / "missing.jpg")


def decode_png(data):
    """Decode the PNGs `encode_png` writes (8-bit, filter 0), to check them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + payload) & 0xFFFFFFFF
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif tag == b"IDAT":
            idat += payload
        pos += 12 + length
    width, height, depth, colour, *_ = header
    channels = {0: 1, 2: 3, 6: 4}[colour]
    raw = numpy.frombuffer(zlib.decompress(idat), dtype=numpy.uint8).reshape((height, 1 + width * channels))
    assert (raw[:, 0] == 0).all()
    pixels = raw[:, 1:].reshape((height, width, channels))
    return pixels[:, :, 0] if channels == 1 else pixels


def test_blank_canvas_sizes():
    doc, _ = make_pair()
    tags = Tags(render(doc))
    assert not tags.find("image")
    assert tags.find("rect", "blank")[0]["width"] == "400"
    assert tags.find("svg", "canvas-svg")[0]["viewbox"] == "0 0 400 450"
    assert Tags(render(doc, image_size=(800, 600))).find("svg", "canvas-svg")[0]["viewbox"] == "0 0 800 600"
    doc._.image_regions = None
    page = render(doc)
    # fitted to the boxes (inclusive pixels: the furthest edge + 1)
    assert Tags(page).find("svg", "canvas-svg")[0]["viewbox"] == "0 0 385 425"
    assert "canvas fitted to the boxes" in page
    empty = spacy.blank("en")("")
    assert "(empty doc)" in render(empty)


def test_gold_beside_predictions_with_marks():
    doc, gold = make_pair()
    view = build_view(doc, gold=gold)
    marks = {m.text: (m.coref_ok, m.box_ok) for m in view.pred.mentions.values()}
    assert marks == {
        "a man": (True, True), "He": (True, True), "him": (True, True), "a dog": (True, True),
        "it": (True, False), "a <red> shirt": (True, True),
    }
    assert view.scores["grounding_acc"] == pytest.approx(5 / 6)
    page = render(doc, gold=gold)
    tags = Tags(page)
    assert not tags.errors
    assert len(tags.find("section", "panel-gold")) == 1
    for box in (MAN_BOX, DOG_BOX, SHIRT_BOX):
        assert has_rect(tags, box, "box-gold")
    bad = tags.find("sup", "mark-box")
    assert sum("bad" in a["class"].split() for a in bad) == 1
    assert sum("ok" in a["class"].split() for a in bad) == 5
    # gold clusters take the colour of the predicted cluster they match
    gold_boxes = tags.find("rect", "box-gold")
    man_gold = next(a for a in gold_boxes if a["x"] == "10")
    assert PALETTE[0] in man_gold["style"]
    # the page's grounding accuracy counts (gold mention, gold box) pairs, as the scorer does
    from mcr_spacy.cli.visualize import doc_scores

    assert doc_scores(gold, doc)["grounding_acc"] == pytest.approx(view.scores["grounding_acc"])
    he = next(s for s in gold.spans["coref_clusters_1"] if s.text == "He")
    he._.grounding = {"boxes": [MAN_BOX, DOG_BOX]}
    view = build_view(doc, gold=gold)
    assert next(m for m in view.pred.mentions.values() if m.text == "He").box_ok  # one of its boxes
    assert view.scores["grounding_acc"] == pytest.approx(5 / 7)
    assert doc_scores(gold, doc)["grounding_acc"] == pytest.approx(5 / 7)
    # a wrong cluster: "it" joins the man's cluster
    doc2, gold2 = make_pair(wrong_it_box=False)
    it = next(s for s in doc2.spans["coref_clusters_2"] if s.text == "it")
    dog = next(s for s in doc2.spans["coref_clusters_2"] if s.text == "a dog")
    doc2.spans["coref_clusters_1"] = SpanGroup(doc2, name="coref_clusters_1", spans=list(doc2.spans["coref_clusters_1"]) + [it])
    doc2.spans["coref_clusters_2"] = SpanGroup(doc2, name="coref_clusters_2", spans=[dog])
    view2 = build_view(doc2, gold=gold2)
    marks2 = {m.text: m.coref_ok for m in view2.pred.mentions.values()}
    assert marks2 == {"a man": False, "He": False, "him": False, "it": False, "a dog": False, "a <red> shirt": True}
    assert all(m.box_ok for m in view2.pred.mentions.values())


def test_header_grounding_accuracy_is_the_scorers():
    """A clustered mention without a box of its own is graded with its cluster's
    box, as the scorer grades it, so the page header agrees with the index."""
    from mcr_spacy.cli.visualize import doc_scores

    doc, gold = make_pair()
    he = next(s for s in doc.spans["coref_clusters_1"] if s.text == "He")
    he._.grounding = None  # its cluster is grounded to MAN_BOX
    he_gold = next(s for s in gold.spans["coref_clusters_1"] if s.text == "He")
    he_gold._.grounding = {"boxes": [MAN_BOX, DOG_BOX]}
    expected = doc_scores(gold, doc)["grounding_acc"]
    # man, him, dog, shirt and He's man box right; He's dog box and "it" wrong
    assert expected == pytest.approx(5 / 7)
    view = build_view(doc, gold=gold)
    assert view.scores["grounding_acc"] == expected
    he_view = next(m for m in view.pred.mentions.values() if m.text == "He")
    assert he_view.box is None and he_view.graded_box == MAN_BOX
    assert he_view.box_ok and he_view.best_iou == pytest.approx(1.0)
    page = render(doc, gold=gold)
    header = re.search(r'data-score="grounding_acc">grounding accuracy (\d+%)</span>', page).group(1)
    assert header == f"{expected:.0%}" == "71%"
    he_tip = next(a["title"] for a in Tags(page).find("span", "mention") if a["data-m"] == he_view.mid)
    assert "box [10, 20, 200, 400]" in he_tip and "box right (IoU 1.00)" in he_tip


def test_gold_on_another_text_and_bad_grounding():
    doc, _ = make_pair()
    other = spacy.blank("en")("Another narration.")
    with pytest.raises(AlignmentError, match=r"\[E500\]"):
        render(doc, gold=other)
    span = doc.spans["coref_clusters_1"][0]
    span._.grounding = {"region": 0, "box": [1, 2, 3], "score": 0.5, "refined_box": None}
    with pytest.raises(DataFormatError, match=r"\[E503\] The grounding 'box' of mention 'a man'"):
        render(doc)


def test_nested_and_crossing_mentions():
    nlp = spacy.blank("en")
    text = "the man with a red hat waves"
    doc = nlp.make_doc(text)
    outer = doc[0:6]  # the man with a red hat
    inner = doc[3:6]  # a red hat
    cross_a = doc[1:3]  # man with
    cross_b = doc[2:5]  # with a red  (crosses both)
    doc.spans["coref_clusters_1"] = SpanGroup(doc, name="coref_clusters_1", spans=[outer, cross_a])
    doc.spans["coref_mentions"] = SpanGroup(doc, name="coref_mentions", spans=[outer, inner, cross_a, cross_b])
    page = render(doc)
    tags = Tags(page)
    assert not tags.errors, tags.errors
    narration = page.split('class="narration"', 1)[1].split("</div>", 1)[0]
    # the visible text is intact
    plain = re.sub(r"<[^>]+>", "", re.sub(r"<sup[^>]*>.*?</sup>", "", narration))
    assert plain.split(">", 1)[-1] == text
    mids = [a["data-m"] for a in tags.find("span", "mention")]
    for span in (outer, inner, cross_a, cross_b):
        assert f"m{span.start_char}-{span.end_char}" in mids
    assert tags.find("span", "fragment")  # the crossing mention is split


def test_docbin_round_trip_tuples(tmp_path):
    doc, gold = make_pair()
    db = DocBin(store_user_data=True, docs=[doc, gold])
    nlp = spacy.blank("en")
    doc2, gold2 = list(DocBin(store_user_data=True).from_bytes(db.to_bytes()).get_docs(nlp.vocab))
    assert render(doc2, gold=gold2) .count("box-gold") == render(doc, gold=gold).count("box-gold")
    view = build_view(doc2, gold=gold2)
    assert view.scores["grounding_acc"] == pytest.approx(5 / 6)


def test_fragment_for_notebooks():
    doc, _ = make_pair()
    a, b = render(doc, page=False), render(doc, page=False)
    assert not a.lstrip().startswith("<!DOCTYPE")
    ids = [re.search(r'class="mcr-view[^"]*" id="([^"]+)"', x).group(1) for x in (a, b)]
    assert ids[0] != ids[1]
    assert render(doc) == render(doc)  # pages are deterministic


def test_displacy_shows_clusters():
    doc, _ = make_pair()
    group = clusters_to_span_group(doc)
    html = displacy.render(doc, style="span", options={"spans_key": group.name})
    assert "C1" in html and "C2" in html


def flickr_docs(image_id="1016887272", wrong_entity="551"):
    """The narration of one real Flickr30k photo built from its five captions'
    annotated phrases, gold chains and boxes from Flickr30k Entities, and a
    hand-made prediction that gets one chain's box wrong."""
    records = [r for r in json.loads((FLICKR / "phrase_boxes_test.json").read_text()) if r["image"].startswith(image_id + "#")]
    by_caption = {}
    for r in records:
        by_caption.setdefault(int(r["image"].split("#")[1]), []).append(r)
    text, offsets = "", []
    for caption in sorted(by_caption):
        phrases = sorted(by_caption[caption], key=lambda r: r["start"])
        for k, r in enumerate(phrases):
            if k:
                text += " … "
            start = len(text)
            text += " ".join(r["phrase"])
            offsets.append(((start, len(text)), r))
        text += ".\n"
    chains, boxes = {}, {}
    for span, r in offsets:
        x, y, w, h = r["box"]
        chains.setdefault(r["entity"], []).append(span)
        boxes[span] = [[x, y, x + w - 1, y + h - 1]]  # Flickr30k Entities: inclusive pixels
    nlp = spacy.blank("en")
    gold = annotate_gold(nlp.make_doc(text), list(chains.values()), boxes)
    set_mentions(gold, [s for s, _ in offsets])
    regions = ImageRegions([b[0] for b in boxes.values()], labels=[r["phrase"][-1] for _, r in offsets],
                           image_size=(333, 500), image_id=image_id)
    gold._.image_regions = regions
    doc = nlp.make_doc(text)
    doc._.image_regions = regions
    for i, (entity, spans) in enumerate(sorted(chains.items()), start=1):
        box = list(boxes[spans[0]][0])
        if entity == wrong_entity:
            box = [box[0] + 60, box[1] + 150, min(box[2] + 60, 332), min(box[3] + 150, 499)]
        group = [doc.char_span(*s) for s in spans]
        for span in group:
            span._.grounding = {"region": None, "box": box, "score": 0.9, "refined_box": None}
        doc.spans[f"coref_clusters_{i}"] = SpanGroup(
            doc, name=f"coref_clusters_{i}", spans=group,
            attrs={"grounding": {"region": None, "box": box, "score": 0.9,
                                 "refined_box": [box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3]}},
        )
    doc.spans["coref_mentions"] = SpanGroup(doc, name="coref_mentions", spans=[doc.char_span(*s) for s, _ in offsets])
    return doc, gold, boxes


def test_real_flickr30k_photo_with_gold_boxes():
    if not (FLICKR / "1016887272.jpg").is_file() or not (FLICKR / "phrase_boxes_test.json").is_file():
        pytest.skip(f"the Flickr30k sample is not at {FLICKR}")
    doc, gold, boxes = flickr_docs()
    photo = FLICKR / "1016887272.jpg"
    assert image_file_size(photo.read_bytes()) == (333, 500)
    page = render(doc, photo, gold=gold)
    tags = Tags(page)
    assert not tags.errors
    image = tags.find("image")
    assert len(image) == 1  # inlined once, reused by the gold panel
    assert tags.find("use")[0]["href"] == "#" + image[0]["id"]
    assert base64.b64decode(image[0]["href"].split(",", 1)[1]) == photo.read_bytes()
    assert image[0]["href"].startswith("data:image/jpeg;base64,")
    for (box,) in boxes.values():
        assert has_rect(tags, box, "box-gold"), box
    view = build_view(doc, photo, gold=gold)
    wrong = {m.text for m in view.pred.mentions.values() if m.box_ok is False}
    assert wrong == {"the line", "the rope"}  # the chain given a shifted box
    assert all(m.coref_ok for m in view.pred.mentions.values())
    assert len([c for c in view.gold.clusters if not c.singleton]) == 4
    from mcr_spacy.cli.visualize import doc_scores

    assert view.scores["grounding_acc"] == doc_scores(gold, doc)["grounding_acc"] < 1


# --- the command ---------------------------------------------------------


@Language.component("mcr_test_fake_coref")
def fake_coref(doc):
    """Stands in for the trained component: the given mentions (or every
    capitalised token), the first two in one cluster grounded to region 0."""
    if "mentions" in doc.spans:
        mentions = list(doc.spans["mentions"])
    else:
        mentions = [doc[i : i + 1] for i, t in enumerate(doc) if t.text[:1].isupper()]
    regions = doc._.image_regions
    box = regions.boxes[0].tolist() if regions is not None and len(regions) else None
    for span in mentions:
        span._.grounding = {"region": 0 if box else None, "box": box, "score": 0.5, "refined_box": None}
    doc.spans["coref_mentions"] = SpanGroup(doc, name="coref_mentions", spans=mentions)
    if len(mentions) >= 2:
        doc.spans["coref_clusters_1"] = SpanGroup(
            doc, name="coref_clusters_1", spans=mentions[:2],
            attrs={"grounding": {"region": 0, "box": box, "score": 0.5, "refined_box": None}},
        )
    return doc


def test_visualize_command(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("mcr_test_fake_coref")
    nlp.to_disk(tmp_path / "model")
    refs = []
    for k in range(3):
        doc, gold = make_pair(nlp)
        gold._.image_regions = ImageRegions(
            [MAN_BOX, DOG_BOX, SHIRT_BOX], labels=["man", "dog", "shirt"], image_size=(400, 450), image_id=f"img{k}"
        )
        refs.append(gold)
    DocBin(store_user_data=True, docs=refs).to_disk(tmp_path / "dev.spacy")
    images = tmp_path / "images"
    images.mkdir()
    (images / "img0.png").write_bytes(encode_png(numpy.full((450, 400, 3), 90, dtype=numpy.uint8)))
    out = tmp_path / "pages"
    result = CliRunner().invoke(
        app,
        ["visualize", str(tmp_path / "model"), str(tmp_path / "dev.spacy"), str(out), "--images", str(images),
         "--limit", "2", "--gold-mentions"],
    )
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["1_img0.html", "2_img1.html", "index.html"]
    index = (out / "index.html").read_text()
    links = re.findall(r'href="([^"]+)"', index)
    assert links == ["1_img0.html", "2_img1.html"]
    first = (out / "1_img0.html").read_text()
    assert "data:image/png;base64," in first and 'href="index.html"' in first
    assert "data:image/" not in (out / "2_img1.html").read_text()  # no image: blank canvas
    # --gold-mentions: the fake pipeline clustered the first two gold mentions (a man, a dog)
    tags = Tags(first)
    pred_mentions = {a["data-m"] for a in tags.find("span", "mention") if a.get("data-c", "").startswith("pred")}
    assert len(pred_mentions) == 6
    # per-doc scores in the index: MUC F1 of {man, dog} against the gold chains is 0
    row = index.split("1_img0.html", 1)[1].split("</tr>", 1)[0]
    numbers = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert numbers[:2] == ["6", "1"]  # mentions, clusters
    assert numbers[2] == "0.0"  # MUC F1
    assert numbers[5] == "50.0"  # grounding: every box on the man's region, right for 3 of 6 gold boxes


def test_visualize_command_with_the_component(tmp_path):
    """The pages of the real (initialised, untrained) component's predictions."""
    nlp = spacy.blank("en")
    nlp.add_pipe("multimodal_coref", config={
        "model": {"hidden_width": 16, "n_heads": 2, "n_layers": 1, "dropout": 0.0}, "write_singletons": True})
    refs = [make_pair(nlp)[1] for _ in range(2)]
    examples = []
    for ref in refs:
        doc = nlp.make_doc(ref.text)
        doc._.image_regions = ref._.image_regions
        set_mentions(doc, [(s.start_char, s.end_char) for s in ref.spans["mentions"]])
        examples.append(spacy.training.Example(doc, ref))
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    nlp.to_disk(tmp_path / "model")
    DocBin(store_user_data=True, docs=refs).to_disk(tmp_path / "dev.spacy")
    out = tmp_path / "pages"
    result = CliRunner().invoke(
        app, ["visualize", str(tmp_path / "model"), str(tmp_path / "dev.spacy"), str(out), "--gold-mentions"]
    )
    assert result.exit_code == 0, result.output
    page = (out / "1_demo_1_.html").read_text()
    tags = Tags(page)
    assert not tags.errors
    pred = [a for a in tags.find("span", "mention") if a.get("data-c", "").startswith("pred")]
    assert len(pred) == 6  # every gold mention was given and shown
    assert tags.find("rect", "box-gold")
    # every box the component predicted is drawn
    from mcr_spacy.cli.visualize import prepare_docs

    predicted = nlp(prepare_docs(nlp, refs[:1], gold_mentions=True)[0])
    boxes = {tuple(float(v) for v in s._.grounding["box"]) for s in predicted.spans["coref_mentions"]
             if s._.grounding and s._.grounding.get("box") is not None}
    drawn = {tuple(float(a[k]) for k in ("x", "y")) for a in tags.find("rect", "box") if "box-gold" not in a["class"]}
    assert boxes
    for box in boxes:
        assert (round(box[0], 1), round(box[1], 1)) in drawn, box


def test_bad_input_errors_have_codes():
    doc, _ = make_pair()
    man = doc.spans["coref_clusters_1"][0]
    two = SpanGroup(doc, name="coref_clusters_3", spans=[man, doc.spans["coref_clusters_2"][0]])
    doc.spans["coref_clusters_3"] = two
    with pytest.raises(AlignmentError, match=r"\[E501\] In .*mention 'a man'.*two clusters"):
        render(doc)
    del doc.spans["coref_clusters_3"]
    with pytest.raises(DataFormatError, match=r"\[E504\]"):
        render(doc, image_size=(0, 10))
    with pytest.raises(DataFormatError, match=r"\[E506\].*type int"):
        render(doc, 3)
    with pytest.raises(DataFormatError, match=r"\[E509\].*\[2, 2, 2\]"):
        render(doc, numpy.zeros((2, 2, 2), dtype=numpy.uint8))
    with pytest.raises(DataFormatError, match=r"\[E510\]"):
        render(doc, numpy.zeros((0, 4, 3), dtype=numpy.uint8))
    man._.grounding = [1, 2, 3, 4]
    with pytest.raises(DataFormatError, match=r"\[E502\] The grounding of mention 'a man'.* is list, not a dict"):
        render(doc)


def test_templates_are_inlined_once_per_view():
    doc, _ = make_pair()
    css = (files("mcr_spacy.visualize") / "templates" / "view.css").read_text(encoding="utf8")
    page, fragment = render(doc), render(doc, page=False)
    for html in (page, fragment):
        assert html.count(css) == 1
        assert "__ROOT__" not in html and "{css}" not in html and "{body}" not in html
    view_id = re.search(r'class="mcr-view[^"]*" id="([^"]+)"', fragment).group(1)
    assert f'document.getElementById("{view_id}")' in fragment
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body>\n</html>\n")
