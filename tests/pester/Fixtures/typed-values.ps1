<#
    The values of the typed round-trip table (JsonRoundTrip.Tests.ps1), as an [ordered] dictionary of
    case name -> value. Built fresh on every call and identical in every process and time zone (the
    Local date is a fixed instant). Defines the enum [ArcpTestShade], so a process that ran this file
    has the type loaded and one that did not gets the value's name with a warning.
#>
enum ArcpTestShade { Light = 1; Dark = 2 }

[ordered]@{
    Hashtable       = @{ Name = 'x'; Count = 2; Nested = @{ Deep = $true } }
    Ordered         = [ordered]@{ Zeta = 1; Alpha = 2; Mid = [ordered]@{ b = 1; a = 2 } }
    PSCustomObject  = [pscustomobject]@{ Name = 'x'; Tags = @('a', 'b') }
    EmptyHashtable  = @{}
    TagLikeKey      = @{ '$arcp' = 'guid'; v = 'not a guid' }
    Array           = @(1, 'two', $null, @{ k = 'v' })
    EmptyArray      = @()
    SingleItemArray = @('only')
    IntArray        = [int[]](1, 2, 3)
    Bytes           = [byte[]](0, 1, 127, 128, 255)
    Guid            = [guid]'6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f'
    Version         = [version]'10.0.19041.1'
    TimeSpan        = [timespan]::new(3, 4, 5, 6, 789)
    Uri             = [uri]'https://example.org/a%20b?q=1#frag'
    RelativeUri     = [uri]::new('../docs/readme.md', [UriKind]::Relative)
    UtcDate         = [datetime]::new(2024, 3, 15, 12, 30, 45, 123, [DateTimeKind]::Utc).AddTicks(4567)
    LocalDate       = [datetime]::new(2024, 7, 1, 2, 30, 0, [DateTimeKind]::Utc).ToLocalTime()
    UnspecifiedDate = [datetime]::new(2024, 5, 6, 7, 8, 9, [DateTimeKind]::Unspecified)
    DateTimeOffset  = [DateTimeOffset]::new(2024, 1, 2, 3, 4, 5, [TimeSpan]::FromHours(5.5))
    DateLikeString  = '2024-03-15T12:30:45Z'
    Decimal         = 1.2345678901234567890123456789d
    DecimalScale    = 1.50d
    BigInteger      = [bigint]::Pow(2, 100)
    Int             = 42
    SmallLong       = 7L
    BigLong         = 9007199254740993L
    Byte            = [byte]200
    UInt64          = [uint64]::MaxValue
    Double          = 0.1
    WholeDouble     = 2.0
    NegativeZero    = [double]::NegativeZero
    NaN             = [double]::NaN
    Infinity        = [double]::PositiveInfinity
    Single          = [float]0.1
    True            = $true
    Char            = [char]'q'
    Null            = $null
    EmptyString     = ''
    DayOfWeek       = [DayOfWeek]::Friday
    FlagsEnum       = [System.IO.FileAttributes]'ReadOnly, Hidden'
    ScriptEnum      = [ArcpTestShade]::Dark
}
