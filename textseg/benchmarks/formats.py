"""Layout formats measured on a data set: every page analysed (:func:`textseg.layout.analyze`),
written as the JSON hierarchy, hOCR, ALTO and PAGE XML, the XML files validated against the
official schemas (lxml), read back, and the words and lines read back scored against the
ground truth (ICDAR 2015 protocol) next to those of the JSON file.

    python -m textseg.benchmarks.formats --data ../shared/data/docbench-dev \\
        --schemas tests/data/schemas [--model default | --detections FILE.pkl]

Without ``--model`` (a model's words) or ``--detections`` (saved ones, see
:mod:`textseg.benchmarks.lines`) the page's ground-truth words are analysed.
"""

from __future__ import annotations

import os

__all__ = ["measure"]


def measure(data_dir, schemas_dir=None, detections=None, out_dir=None):
    """Returns ``{"pages", "invalid": [(key, fmt, error)], "scores": {fmt: {level: hmean}}}``
    (``fmt``: ``json``, ``hocr``, ``alto``, ``page``; ``level``: ``word``, ``line``)."""
    import tempfile

    from ..data.icdar import find_gt_files, read_gt
    from ..data.images import load_image
    from ..evaluation import evaluate
    from ..formats import FORMATS, read_layout
    from ..layout import analyze, read_layout_json, write_layout_json

    schemas = {}
    if schemas_dir:
        from lxml import etree

        for fmt, name in (("alto", "alto-4-4.xsd"), ("page", "pagecontent-2019-07-15.xsd")):
            schemas[fmt] = etree.XMLSchema(etree.parse(os.path.join(schemas_dir, name)))
    word_files = find_gt_files(data_dir, level="word")
    line_files = find_gt_files(data_dir, level="line")
    images = {os.path.splitext(n)[0]: os.path.join(data_dir, "images", n)
              for n in os.listdir(os.path.join(data_dir, "images"))}
    keys = [k for k in word_files if k in line_files and k in images]
    fmts = ["json"] + list(FORMATS)
    pred = {f: {"word": {}, "line": {}} for f in fmts}
    gt = {"word": {}, "line": {}}
    invalid = []
    with tempfile.TemporaryDirectory() as tmp:
        out = out_dir or tmp
        for k in keys:
            gt["word"][k] = read_gt(word_files[k])
            gt["line"][k] = read_gt(line_files[k])
            words = (detections[k] if detections is not None else
                     [(a.polygon, 1.0) for a in gt["word"][k] if not a.ignore])
            image = load_image(images[k])
            layout = analyze(words, image, image_name=os.path.basename(images[k]))
            for fmt in fmts:
                path = os.path.join(out, f"{k}.{fmt}")
                if fmt == "json":
                    write_layout_json(path, layout)
                    back = read_layout_json(path)
                else:
                    FORMATS[fmt][0](path, layout)
                    if fmt in schemas:
                        from lxml import etree

                        if not schemas[fmt].validate(etree.parse(path)):
                            invalid.append((k, fmt, str(schemas[fmt].error_log.last_error)))
                    back = read_layout(path)
                for level in ("word", "line"):
                    pred[fmt][level][k] = back.detections(level)
    scores = {f: {lv: evaluate(gt[lv], pred[f][lv])["hmean"] for lv in ("word", "line")}
              for f in fmts}
    return {"pages": len(keys), "invalid": invalid, "scores": scores}


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(prog="python -m textseg.benchmarks.formats",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--schemas", help="folder with alto-4-4.xsd and pagecontent-2019-07-15.xsd")
    ap.add_argument("--detections")
    ap.add_argument("--model", help="'default' or a model file: analyse its words")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--out", help="keep the files in this folder")
    args = ap.parse_args(argv)
    from .lines import detections_from_args

    dets = detections_from_args(args)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    r = measure(args.data, args.schemas, dets, args.out)
    n_xml = r["pages"] * (2 if args.schemas else 0)
    print(f"{r['pages']} pages; schema-valid ALTO+PAGE files: {n_xml - len(r['invalid'])}/{n_xml}")
    for fmt, s in r["scores"].items():
        print(f"  {fmt:>5}: word hmean {s['word']:.4f}  line hmean {s['line']:.4f}")
    for x in r["invalid"][:10]:
        print("  invalid:", *x)


if __name__ == "__main__":
    main()
