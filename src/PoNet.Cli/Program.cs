namespace PoNet.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        System.Console.WriteLine("ponet: commands are added as the issues land");
        return 0;
    }
}
