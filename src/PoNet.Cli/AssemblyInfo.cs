[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("PoNet.Tests")]
