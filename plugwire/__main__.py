from plugwire.core.cli import main

main()
