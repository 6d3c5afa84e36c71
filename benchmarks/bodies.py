"""Pedestrian and object detection on labelled scenes: precision and recall of the shipped
models (MoveNet MultiPose, CenterNet: services/detector/bodies.py), and milliseconds per image.

    .venv/bin/python benchmarks/bodies.py [--scenes 24] [--seed 21] [--threshold 2500]

Pedestrians (tests/body_scenes.py): portraits of ../shared/faces pasted whole (180 to 420 px
high) into 960x640 backdrops, one to three per scene; a detection is a pasted person when its
centre lies in the pasted rectangle and it covers a fifth of it (each person matched once), any
other is a false pedestrian. Then face-api's demo photos (groups of three to four women, full
bodies): people found against people counted by eye. Objects: CenterNet with every SmartFace
type asked for, on the same images (none of them holds one of those objects except a handbag or
two in the demo photos: counted as found, not scored), and the person class of CenterNet as a
second person detector for comparison. Time: median wall time of one image, both models, one
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
from tests.body_scenes import PEOPLE_IN_SAMPLES, portrait_scenes, sample_photos, score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--threshold", type=int, default=2500, help="confidenceThreshold (0..10000)")
    args = parser.parse_args()
    settings = load_settings()
    models = Path(settings.models_dir)
    detector = BodyDetector(models, threads=1)
    detector.warm_up()
    people = PedestrianDetectorConfig(min_pedestrian_size=0, confidence_threshold=args.threshold)
    objects = ObjectDetectorConfig(min_object_size=0, confidence_threshold=args.threshold)
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
    print(f"  movenet-multipose: recall {tp / truth:.2f} ({tp}/{truth}), precision {tp / max(1, tp + fp):.2f} "
          f"({fp} false)")  # fmt: skip
    print(f"  centernet person class: recall {cn_tp / truth:.2f}, precision {cn_tp / max(1, cn_tp + cn_fp):.2f}")
    counted = found_total = 0
    for name, rgb in sample_photos(models).items():
        result = detector.detect_rgb(rgb, people, objects)
        counted += PEOPLE_IN_SAMPLES[name]
        found_total += min(len(result.pedestrians), PEOPLE_IN_SAMPLES[name])
        extra = max(0, len(result.pedestrians) - PEOPLE_IN_SAMPLES[name])
        kinds = sorted({o.type for o in result.objects})
        print(f"  {name}: {len(result.pedestrians)} pedestrians of {PEOPLE_IN_SAMPLES[name]} ({extra} extra); "
              f"objects {kinds}")  # fmt: skip
    if counted:
        print(f"face-api demo photos: people found {found_total}/{counted} ({found_total / counted:.2f})")
    print(f"time per 960x640 image (both models, 1 thread): median {1000 * statistics.median(times):.0f} ms")
    print(f"COCO classes: {len(COCO)}")


if __name__ == "__main__":
    main()
