// Module Generation: filled in below.
