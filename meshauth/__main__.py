import sys

from meshauth.cli import main

sys.exit(main())
