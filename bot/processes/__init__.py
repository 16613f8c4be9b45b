"""Several `paperboy run` processes sharing one database (#16): who is running, and which of them
does the work that must run once.

- `coordinator.py`: registers the process (host, pid, shards) in the process table, renews its
  heartbeat, and takes, renews and gives up the leases on the work one process does at a time
  (fetching, the upkeep), starting and stopping that work as the lease comes and goes;
- `report.py`: the processes as `paperboy status` and `/status` show them (alive or gone,
  heartbeat age, what each holds).

The table and the leases themselves: storage/processes.py.
"""
