#!/usr/bin/perl
# The hostile cases of spec/08-hostile that need the TCP layer itself, which
# nginx (spec/support/hostile_server.lua) cannot give: listens on 127.0.0.1,
# one port per case, writes "pid port..." (in the order below) to STATEFILE.
#
#   tls_drip  reads the ClientHello, then sends a TLS record header that
#             announces 16 KiB and drips the record one byte every 50 ms:
#             a TLS handshake that never ends
#   reset     reads the request, sends the headers and half a body, then
#             resets the connection (RST, not FIN)
#   tls_trickle  relays to 127.0.0.1:UPSTREAM (a TLS server that answers
#             at once), but once the client sends application data (its
#             handshake is done), passes the server's bytes on one every
#             50 ms: TLS records that never complete, after a handshake that
#             did
#
# Every connection ends by 20 s.  perl-base is always on Debian.
#
#   perl hostile_tcp.pl STATEFILE UPSTREAM &
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);

my ($statefile, $upstream_port) = @ARGV;
my @cases = ("tls_drip", "reset", "tls_trickle");
my %listener;
for my $case (@cases) {
    $listener{$case} = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                             Listen => 64, ReuseAddr => 1) or die "listen: $!";
}
$SIG{CHLD} = "IGNORE";
open(my $state, ">", "$statefile.tmp") or die "$statefile: $!";
print $state join(" ", $$, map { $listener{$_}->sockport() } @cases) . "\n";
close($state);
rename("$statefile.tmp", $statefile) or die "rename: $!";

# Reads what the client sends within a short while (a request, a ClientHello).
sub slurp {
    my ($c) = @_;
    my $sel = IO::Select->new($c);
    my $got = "";
    while ($sel->can_read(0.2)) {
        my $n = sysread($c, my $buf, 65536);
        last if !$n;
        $got .= $buf;
        last if $got =~ /\r\n\r\n/;
    }
    return $got;
}

my %serve = (
    tls_drip => sub {
        my ($c) = @_;
        slurp($c);
        # A handshake record (22), TLS 1.2, 16384 bytes long.
        syswrite($c, "\x16\x03\x03\x40\x00") or return;
        for (1 .. 400) {
            select(undef, undef, undef, 0.05);
            syswrite($c, "\x00") or return;
        }
    },
    reset => sub {
        my ($c) = @_;
        slurp($c);
        syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            . "Content-Length: 100000\r\n\r\n{\"RequestId\":\"hostile-reset\",") or return;
        select(undef, undef, undef, 0.1);
        setsockopt($c, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0));
    },
);

$serve{tls_trickle} = sub {
    my ($c) = @_;
    my $up = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $upstream_port) or return;
    my $sel = IO::Select->new($c, $up);
    my ($trickle, $pending) = (0, "");
    while ($sel->count() == 2 || $pending ne "") {
        for my $from ($sel->can_read($pending ne "" ? 0.05 : 5)) {
            my $n = sysread($from, my $buf, 65536);
            if (!$n) {
                return if $from == $c;
                $sel->remove($up); # the rest still goes out, slowly
                next;
            }
            if ($from == $c) {
                # A TLS record of type 23: application data.
                $trickle = 1 if ord($buf) == 23;
                syswrite($up, $buf) or return;
            } else {
                $pending .= $buf;
            }
        }
        next if $pending eq "";
        syswrite($c, substr($pending, 0, $trickle ? 1 : length($pending), "")) or return;
    }
};

my $all = IO::Select->new(values %listener);
while (1) {
    for my $l ($all->can_read()) {
        my $c = $l->accept() or next;
        my ($case) = grep { $listener{$_} == $l } @cases;
        if (fork() == 0) {
            $SIG{ALRM} = sub { exit 0 };
            alarm(20);
            $serve{$case}->($c);
            close($c);
            exit 0;
        }
        close($c);
    }
}
