from pinn_cli.app import main

main()
