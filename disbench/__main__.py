from disbench.cli import main

main()
