import sys

from cxml.cli import main

sys.exit(main())
