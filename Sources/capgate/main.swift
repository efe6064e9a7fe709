print("capgate")
