# gnuplot -e "datafile='bench/out/compare.dat'; outfile='bench/out/compare.png'" bench/compare.gp
set terminal pngcairo size 1400,600 noenhanced
set output outfile
set title "uvhost-bench 4 KiB random read: uvhostd vs qemu-storage-daemon 7.2 (libvhost-user)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "IOPS"
set yrange [0:*]
set xtics rotate by -35 scale 0
set grid ytics
set key top left
plot datafile using 2:xtic(1) title "uvhostd", '' using 3 title "qemu-storage-daemon"
