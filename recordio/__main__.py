from recordio.cli import main

main()
