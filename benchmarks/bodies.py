"""Pedestrian and object detection on labelled scenes: precision and recall of the shipped
models (MoveNet MultiPose, CenterNet: services/detector/bodies.py), and milliseconds per image.

    .venv/bin/python benchmarks/bodies.py [--scenes 24] [--seed 21] [--threshold 2500] [--object-threshold 5000]

Pedestrians (tests/body_scenes.py): portraits of ../shared/faces pasted whole (180 to 420 px
high) into 960x640 backdrops, one to three per scene; a detection is a pasted person when its
centre lies in the pasted rectangle and it covers a fifth of it (each person matched once), any
other is a false pedestrian. Then face-api's demo photos (groups of three to five women, full
bodies): people found against people counted by eye. Objects: scikit-image's sample photos of
a cat, a motorbike and an astronaut (tests/registry_images.py) pasted into backdrops
(tests/body_scenes.py, boxes labelled by eye), every SmartFace type asked for: recall and false
detections per type (the astronaut as a pedestrian); on the people scenes and the demo photos,
any object found is listed. The person class of CenterNet is also scored as a person detector
(a pedestrian must be a person to it as well: CONFIRM_SCORE). Thresholds: SmartFace's defaults
(pedestrians 2500, objects 5000). Time: median wall time of one image, both models, one
intra-op thread.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from services.detector.bodies import COCO, BodyDetector, CenterNet
from shared.messages.bodies import ObjectDetectorConfig, PedestrianDetectorConfig
from shared.modelpack import model_path
from shared.settings import load_settings
from tests.body_scenes import OBJECT_SOURCES, PEOPLE_IN_SAMPLES, object_scenes, portrait_scenes, sample_photos, score
from tests.registry_images import sample


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--threshold", type=int, default=2500, help="pedestrians' confidenceThreshold (0..10000)")
    parser.add_argument("--object-threshold", type=int, default=5000, help="objects' confidenceThreshold")
    args = parser.parse_args()
    settings = load_settings()
    models = Path(settings.models_dir)
    detector = BodyDetector(models, threads=1)
    detector.warm_up()
    people = PedestrianDetectorConfig(min_pedestrian_size=0, confidence_threshold=args.threshold)
    objects = ObjectDetectorConfig(min_object_size=0, confidence_threshold=args.object_threshold)
    centernet = CenterNet(model_path(models, "centernet")[0], threads=1)
    scenes = portrait_scenes(args.seed, args.scenes)
    truth = tp = fp = 0
    cn_tp = cn_fp = 0
    times = []
    for scene in scenes:
        started = time.perf_counter()
        found = detector.detect_rgb(scene.rgb, people, objects)
        times.append(time.perf_counter() - started)
        a, b = score([p.box for p in found.pedestrians], scene.truths)
        tp, fp, truth = tp + a, fp + b, truth + len(scene.truths)
        persons = [box for c, box, s in centernet.objects(scene.rgb, np.array([0])) if 10000 * s >= args.threshold]
        a, b = score(persons, scene.truths)
        cn_tp, cn_fp = cn_tp + a, cn_fp + b
    print(f"portrait scenes: {len(scenes)}, people {truth}, confidenceThreshold {args.threshold}")
    precision = tp / max(1, tp + fp)
    print(f"  pedestrians (MoveNet, confirmed by CenterNet): recall {tp / truth:.2f} ({tp}/{truth}), "
          f"precision {precision:.2f} ({fp} false)")  # fmt: skip
    print(f"  centernet person class: recall {cn_tp / truth:.2f}, precision {cn_tp / max(1, cn_tp + cn_fp):.2f}")
    counted = found_total = 0
    for name, photo in sample_photos(models).items():
        result = detector.detect_rgb(photo, people, objects)
        counted += PEOPLE_IN_SAMPLES[name]
        found_total += min(len(result.pedestrians), PEOPLE_IN_SAMPLES[name])
        extra = max(0, len(result.pedestrians) - PEOPLE_IN_SAMPLES[name])
        kinds = sorted({o.type for o in result.objects})
        print(f"  {name}: {len(result.pedestrians)} pedestrians of {PEOPLE_IN_SAMPLES[name]} ({extra} extra); "
              f"objects {kinds}")  # fmt: skip
    if counted:
        print(f"face-api demo photos: people found {found_total}/{counted} ({found_total / counted:.2f})")
    sources = {n: rgb for n in OBJECT_SOURCES if (rgb := sample(n)) is not None}
    if sources:
        truth_by: dict[str, int] = {}
        tp_by: dict[str, int] = {}
        fp_by: dict[str, int] = {}
        unconfirmed = 0  # MoveNet's people that are not the astronaut, before CenterNet's confirmation
        for scene in object_scenes(sources, args.seed, args.scenes // 2):
            found = detector.detect_rgb(scene.rgb, people, objects)
            astronaut = [t for t, k in zip(scene.truths, scene.kinds, strict=True) if k == "person"]
            alone = [b for b, s, _ in detector.movenet.people(scene.rgb) if 10000 * s >= args.threshold]
            unconfirmed += score(alone, astronaut)[1]
            boxes = {"person": [p.box for p in found.pedestrians]}
            for o in found.objects:
                boxes.setdefault(o.type, []).append(o.box)
            for kind in set(scene.kinds) | set(boxes):
                truths = [t for t, k in zip(scene.truths, scene.kinds, strict=True) if k == kind]
                a, b = score(boxes.get(kind, []), truths)
                truth_by[kind] = truth_by.get(kind, 0) + len(truths)
                tp_by[kind], fp_by[kind] = tp_by.get(kind, 0) + a, fp_by.get(kind, 0) + b
        print(f"object scenes (scikit-image's cat, motorbike, astronaut): {args.scenes // 2}")
        for kind in sorted(truth_by):
            t, a, b = truth_by[kind], tp_by[kind], fp_by[kind]
            recall = f"{a / t:.2f} ({a}/{t})" if t else "-"
            print(f"  {kind}: recall {recall}, false {b}")
        print(f"  MoveNet alone (no confirmation): {unconfirmed} false pedestrians (the cat, the motorbike)")
        for name, whole in sources.items():  # each photo whole, as it is in the package
            scores = [round(p, 2) for _, p, _ in detector.movenet.people(whole) if 10000 * p >= args.threshold]
            kept = len(detector.detect_rgb(whole, people, None).pedestrians)
            print(f"  {name} whole: MoveNet alone finds people scored {scores}; confirmed pedestrians {kept}")
    print(f"time per 960x640 image (both models, 1 thread): median {1000 * statistics.median(times):.0f} ms")
    print(f"COCO classes: {len(COCO)}")


if __name__ == "__main__":
    main()
