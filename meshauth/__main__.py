import sys

from meshauth.cli.main import main

sys.exit(main())
