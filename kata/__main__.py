import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while torch loads: one line, as later
    print("\ninterrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
