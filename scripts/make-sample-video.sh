#!/usr/bin/env bash
# Makes the sample video that `npm start` serves out of the box: ffmpeg's test pattern and a tone,
# H.264 + AAC in MP4, with the moov atom at the END (ffmpeg's default without -movflags +faststart),
# so a player must use a range request to reach the index before it can play or seek.
# Needs Debian's ffmpeg. The result is committed; run this only to remake it.
set -euo pipefail
out="${1:-downloads/Sample_Test_Pattern__6f1c2a9e-3b7d-4e58-9a0c-2d4b8e7f1a35.mp4}"
mkdir -p "$(dirname "$out")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i testsrc2=size=320x180:rate=25 \
  -f lavfi -i sine=frequency=440:sample_rate=44100 \
  -t 12 -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 50 -b:v 200k \
  -c:a aac -b:a 48k -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  "$out"
ls -l "$out"
