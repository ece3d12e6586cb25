from pinn_cli.cli.app import main

main()
