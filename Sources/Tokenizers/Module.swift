// Module Tokenizers: filled in below.
