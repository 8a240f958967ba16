from kazoo_actors.cli.main import main

raise SystemExit(main())
