print("llamacl")
