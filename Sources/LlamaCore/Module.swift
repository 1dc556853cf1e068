// Module LlamaCore: filled in below.
