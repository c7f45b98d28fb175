#!/usr/bin/env python3
"""The display test: the same script, through QMP (the qemu.qmp package),
drives vemu and qemu-system-i386 booting test-roms/boot/display.asm, takes a
screendump of every picture it draws, types keys, and compares.

    display-test.py --vemu target/debug/vemu --image boot-display.img --work DIR
        [--only vemu|qemu] [--engine jit]

For each emulator: start it with the image on a floppy, COM1 on stdout and QMP
on a Unix socket; for every "SCENE name" line the program prints, take a
screendump (PPM) and send a key to go on (for some scenes, also capture the
screen through VNC with vncdotool); at "ECHO", send keys through send-key,
input-send-event and VNC and read back the "KEY xxxx" lines (INT 16h's scan
code and character). Then:
- every scene's screendump from vemu equals QEMU's pixel for pixel (both PPM
  files are kept in DIR/vemu and DIR/qemu; a differing scene also gets
  DIR/diff-SCENE.ppm with the differing pixels in red);
- the keys read are the ones expected, in both emulators;
- what a VNC client sees equals the screendump, in both emulators.
Exit status 0 when all holds; every difference is printed.

Where QEMU 7.2 draws unlike a real VGA (blink, the ninth column of characters
0xB0-0xBF), the test program keeps out of the way, so any difference is a bug.
"""

import argparse
import asyncio
import os
import queue
import subprocess
import sys
import threading
import time

from qemu.qmp import ExecInterruptedError, QMPClient

SCENES = ["text80", "text40", "text50", "mode12", "cga4", "cga2", "mode0d", "mode13", "modex",
          "vbe32", "vbe16", "vbe24", "vbe15", "vbe8"]

# Keys typed at the ECHO prompt through send-key (a list of keys held
# together), and what INT 16h AH=00h gives for each: (scan code << 8) | char.
KEYS = [
    (["h"], 0x2368),
    (["i"], 0x1769),
    (["shift", "a"], 0x1E41),
    (["1"], 0x0231),
    (["spc"], 0x3920),
    (["ret"], 0x1C0D),
    (["tab"], 0x0F09),
    (["backspace"], 0x0E08),
    (["ctrl", "c"], 0x2E03),
    (["f1"], 0x3B00),
    (["up"], 0x4800),
    (["kp_add"], 0x4E2B),
    (["shift", "slash"], 0x353F),
]
# One key pressed and released through input-send-event.
EVENT_KEY = ("b", 0x3062)
# Keys typed through VNC (vncdotool's names): a letter, one with Ctrl held by
# the client, and a capital without Shift (QEMU toggles Caps Lock around it,
# vemu presses Shift around it: the guest reads the same). Not here: a
# lowercase keysym while the client holds Shift, which QEMU makes lowercase
# (its Caps Lock sync) and vemu uppercase (Shift is held).
VNC_KEYS = [("v", 0x2F76), ("ctrl-c", 0x2E03), ("Q", 0x1051)]
ESC = 0x011B
# Scenes also captured through VNC, to compare with the screendump.
VNC_SCENES = ["text80", "mode13", "vbe32"]


def read_lines(stream, q):
    for raw in iter(stream.readline, b""):
        q.put(raw.decode("latin-1").rstrip("\r\n"))
    q.put(None)


async def connect(sock, proc):
    qmp = QMPClient("display-test")
    deadline = time.monotonic() + 30
    while True:
        try:
            await qmp.connect(sock)
            return qmp
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def next_line(q, proc, deadline):
    while True:
        try:
            line = q.get_nowait()
        except queue.Empty:
            if time.monotonic() > deadline:
                raise TimeoutError("no output from the guest in time")
            await asyncio.sleep(0.02)
            continue
        return line


def qcode(name):
    return {"type": "qcode", "data": name}


def vnc_client(display):
    from vncdotool import api
    return api.connect(f"127.0.0.1:{display}", timeout=30)


async def drive(name, cmd, sock, outdir, timeout, vnc_display):
    os.makedirs(outdir, exist_ok=True)
    if os.path.exists(sock):
        os.unlink(sock)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    q = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, q), daemon=True).start()
    result = {"scenes": [], "keys": [], "end": None, "log": []}
    qmp = None
    try:
        qmp = await connect(sock, proc)
        deadline = time.monotonic() + timeout
        while True:
            line = await next_line(q, proc, deadline)
            if line is None:
                break
            result["log"].append(line)
            words = line.split()
            if not words:
                continue
            if words[0] == "SCENE":
                scene = words[1]
                await qmp.execute("screendump", {"filename": os.path.join(outdir, scene + ".ppm")})
                result["scenes"].append(scene)
                if scene in VNC_SCENES:
                    client = vnc_client(vnc_display)
                    client.captureScreen(os.path.join(outdir, scene + ".vnc.png"))
                    client.disconnect()
                await qmp.execute("send-key", {"keys": [qcode("spc")]})
            elif words[0] == "ECHO":
                for keys, _ in KEYS:
                    await qmp.execute("send-key", {"keys": [qcode(k) for k in keys]})
                    await asyncio.sleep(0.05)
                events = [{"type": "key", "data": {"down": d, "key": qcode(EVENT_KEY[0])}} for d in (True, False)]
                await qmp.execute("input-send-event", {"events": events})
                await asyncio.sleep(0.05)
                client = vnc_client(vnc_display)
                for key, _ in VNC_KEYS:
                    client.keyPress(key)
                    await asyncio.sleep(0.05)
                client.disconnect()
                await asyncio.sleep(0.2)
                try:
                    await qmp.execute("send-key", {"keys": [qcode("esc")], "hold-time": 50})
                except ExecInterruptedError:
                    # Esc ends the program, and the emulator with it: the
                    # answer may not make it out first.
                    pass
            elif words[0] == "KEY":
                result["keys"].append(int(words[1], 16))
            elif words[0] in ("PASS", "FAIL:"):
                result["end"] = line
                break
    finally:
        if qmp is not None:
            try:
                await qmp.disconnect()
            except Exception:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        result["status"] = proc.returncode
        result["stderr"] = proc.stderr.read().decode("latin-1")
    return result


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = data.split(b"\n", 3)
    if parts[0] != b"P6" or parts[2] != b"255":
        raise ValueError(f"{path}: not a P6 PPM with maxval 255")
    w, h = map(int, parts[1].split())
    pixels = parts[3]
    if len(pixels) != w * h * 3:
        raise ValueError(f"{path}: {len(pixels)} bytes of pixels for {w}x{h}")
    return w, h, pixels


def compare(scene, a_path, b_path, diff_path):
    aw, ah, a = read_ppm(a_path)
    bw, bh, b = read_ppm(b_path)
    if (aw, ah) != (bw, bh):
        return f"{scene}: vemu's picture is {aw}x{ah}, QEMU's {bw}x{bh}"
    if a == b:
        return None
    diff = bytearray(b)
    count = 0
    first = None
    for i in range(0, len(a), 3):
        if a[i:i + 3] != b[i:i + 3]:
            count += 1
            diff[i:i + 3] = b"\xff\x00\x00"
            if first is None:
                first = (i // 3 % aw, i // 3 // aw, a[i:i + 3].hex(), b[i:i + 3].hex())
    with open(diff_path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (aw, ah) + bytes(diff))
    x, y, va, vb = first
    return f"{scene}: {count} pixels differ, the first at ({x}, {y}): vemu {va}, QEMU {vb} (see {diff_path})"


def free_vnc_display():
    import socket
    for n in range(20, 90):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", 5900 + n))
                return n
            except OSError:
                continue
    raise RuntimeError("no free VNC display between :20 and :89")


def compare_vnc(name, scene, outdir):
    from PIL import Image
    png = os.path.join(outdir, scene + ".vnc.png")
    ppm = os.path.join(outdir, scene + ".ppm")
    if not os.path.exists(png) or not os.path.exists(ppm):
        return f"{name}: {scene}: no VNC capture or screendump"
    a = Image.open(png).convert("RGB")
    w, h, pixels = read_ppm(ppm)
    if a.size != (w, h):
        return f"{name}: {scene}: the VNC picture is {a.size[0]}x{a.size[1]}, the screendump {w}x{h}"
    if a.tobytes() != pixels:
        return f"{name}: {scene}: the VNC picture differs from the screendump"
    print(f"{name}: {scene}: the VNC picture equals the screendump")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vemu", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--only", choices=["vemu", "qemu"])
    ap.add_argument("--timeout", type=float, default=180)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    common = ["-display", "none", "-serial", "stdio", "-no-reboot", "-snapshot",
              "-drive", f"file={args.image},if=floppy,format=raw", "-boot", "a"]
    runs = {
        "vemu": [args.vemu, "run", *common, "--engine", args.engine],
        "qemu": ["qemu-system-i386", *common, "-net", "none",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x01"],
    }
    results = {}
    for name, cmd in runs.items():
        if args.only and args.only != name:
            continue
        sock = os.path.join(args.work, f"{name}.qmp")
        display = free_vnc_display()
        cmd = cmd + ["-qmp", f"unix:{sock},server=on,wait=off", "-vnc", f"127.0.0.1:{display}"]
        results[name] = asyncio.run(drive(name, cmd, sock, os.path.join(args.work, name), args.timeout, display))

    problems = []
    expected_keys = [k for _, k in KEYS] + [EVENT_KEY[1]] + [k for _, k in VNC_KEYS] + [ESC]
    for name, r in results.items():
        if r["end"] != "PASS" or r["status"] != 1:
            problems.append(f"{name}: ended with {r['end']!r}, status {r['status']}\n  output: "
                            + "\n  ".join(r["log"][-10:]) + f"\n  stderr: {r['stderr'][-2000:]}")
        if r["scenes"] != SCENES:
            problems.append(f"{name}: scenes {r['scenes']}, expected {SCENES}")
        for scene in VNC_SCENES:
            d = compare_vnc(name, scene, os.path.join(args.work, name))
            if d:
                problems.append(d)
        if r["keys"] != expected_keys:
            got = " ".join(f"{k:04x}" for k in r["keys"])
            want = " ".join(f"{k:04x}" for k in expected_keys)
            problems.append(f"{name}: keys read {got}, expected {want}")
    if "vemu" in results and "qemu" in results:
        for scene in SCENES:
            a = os.path.join(args.work, "vemu", scene + ".ppm")
            b = os.path.join(args.work, "qemu", scene + ".ppm")
            if os.path.exists(a) and os.path.exists(b):
                d = compare(scene, a, b, os.path.join(args.work, f"diff-{scene}.ppm"))
                if d:
                    problems.append(d)
                else:
                    print(f"{scene}: vemu and QEMU agree pixel for pixel")
    for p in problems:
        print("PROBLEM:", p)
    if not problems:
        print("display test: all scenes equal, keys as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
