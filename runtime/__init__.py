"""What a Podium process needs around the domain: OS process helpers and the shared handles
(settings → storage, Redis, stores) that the API, the workers and the CLI each build once."""
