"""Status changes of every entity with a status, through state machines declared as data
(machine.py); one module per entity: assets.py (assets and caption tracks), then upload slots,
channel items and live streams."""
