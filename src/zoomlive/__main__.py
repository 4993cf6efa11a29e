from zoomlive.cli import main

main()
