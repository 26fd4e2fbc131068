import sys

from s3local.cli import main

sys.exit(main())
