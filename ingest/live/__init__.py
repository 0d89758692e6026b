"""Live streams: speakers who push RTMP/SRT; records, the RTMP server's configuration, and the
live HLS that a worker makes of each stream."""
