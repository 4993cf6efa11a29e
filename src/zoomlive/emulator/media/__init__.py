"""Media: the ffmpeg command that pushes a synthetic webinar to RTMP, and its supervisor."""
