// Module CPUBackend: filled in below.
